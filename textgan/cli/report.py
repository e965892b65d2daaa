"""Sweep dir -> table (mean ± std over seeds, grouped by the swept keys) + CSV + metric curves (mean with a band).

    python -m textgan.cli.report multirun/<sweep_name>/<time>_<id> [--metrics test/nll_oracle ...] [--allow-mixed]

Reads every job of one Hydra sweep (any folder below SWEEP_DIR with `csv/metrics.csv`), no W&B account needed:

- the job's sweep: the parent of its `hydra.runtime.output_dir` (`.hydra/hydra.yaml`; a single run is a sweep of
  its own; without hydra.yaml, the folder holding the job). A folder whose jobs belong to more than one sweep is
  refused in one line, since a table over half of one sweep and half of another reads like a result; `--allow-mixed`
  reports them together;
- the job's settings from `.hydra/overrides.yaml` (the command-line overrides; `.hydra/config.yaml` is the
  fallback for the seed); the *swept keys* are the override keys whose values differ between jobs, `seed`
  excluded: jobs with equal swept values form a group, their seeds the samples;
- the job's final metrics: the last logged value of every `val/*` and `test/*` column of `metrics.csv`; its
  phase starts: the epochs where `progress/phase` (logged by the multi-phase methods) changes.

Writes into `SWEEP_DIR/report/`: `report.md`, a markdown table (one row per group, `mean ± std` per metric; std
is the sample standard deviation over seeds, ddof=1; a metric with one seed shows its value and `(n=1)`),
`report.csv`, the same table with `<metric>`, `<metric>_std`, `<metric>_n` columns, and one PNG per `val/*`
metric: the mean curve over the group's seeds against `val/epoch` (or the csv's `epoch`), with a band of ± one
standard deviation and dotted lines where a new training phase starts.
`--quality-diversity 0.5:1.5:0.1` also draws the sweep's quality-diversity plane (`textgan.cli.evaluate.sweep_plane`:
one curve per group, the mean over its seeds' `checkpoints/last.ckpt` at each sampling temperature) into
`report/quality_diversity/`. `--curves end_g_pretrain:MLE last:SeqGAN` draws other checkpoints of each job (here
SeqGAN's generator after its MLE pre-training beside its final one); `--baseline MLE` adds the calibrated table
(`textgan.cli.calibration`: the data's floor and ceiling, every curve at T = 1, the baseline at each curve's diversity)
with the paper's figures from `--paper FILE` beside them.
`--plot val/js1,val/js2@val/generator_iteration train/tau@progress/generator_iteration` draws, per spec, the
named columns (any `val/*`, `test/*`, `train/*` or `progress/*` column) against the column after `@` (default
`epoch`) in one PNG, `report/plot_<spec>.png` (`/` -> `_`, `,` -> `+`, `@` -> `_vs_`): one line per group and
metric, the mean over the group's seeds of the rows that log both columns at equal x, with a band of ± one
standard deviation. `--group-by experiment method.decoding.decode` names the rows by those swept keys alone, without the
columns that only repeat them (the checkpoint paths a row's runs start from, say); the other swept keys must be
constant within each row.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from textgan.errors import UserError, handle

try:
    import pandas as pd
except ImportError:  # the `report` extra is not installed: main() says so in one line
    pd = None

PHASE_COLUMN = "progress/phase"  # the index of the method's training phase, logged on every training row


class ReportError(UserError, ValueError):
    """A sweep folder the report cannot summarise honestly; the message is one line naming the fix."""


@dataclass
class Job:
    """One job of a sweep: its dir, overrides {key: value string}, final metrics, `val/*` curves, the epochs
    where a new training phase starts and the sweep it belongs to."""

    path: Path
    overrides: dict[str, str]
    final: dict[str, float]
    curves: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # metric -> [(epoch, value)]
    phase_starts: list[tuple[float, int]] = field(default_factory=list)  # [(first epoch, phase index)]
    sweep: str = ""


def _read_overrides(job_dir: Path) -> dict[str, str]:
    found = {}
    file = job_dir / ".hydra" / "overrides.yaml"
    if file.exists():
        for item in yaml.safe_load(file.read_text()) or []:
            key, _, value = str(item).partition("=")
            found[key.lstrip("+~")] = value
    config = job_dir / ".hydra" / "config.yaml"
    if "seed" not in found and config.exists():
        seed = (yaml.safe_load(config.read_text()) or {}).get("seed")
        if seed is not None:
            found["seed"] = str(seed)
    return found


def sweep_of(job_dir: Path) -> str:
    """The sweep `job_dir` belongs to: the parent of its recorded `hydra.runtime.output_dir` in multirun, the run
    dir itself for a single run, the folder holding the job when `.hydra/hydra.yaml` is absent."""
    try:
        hydra = (yaml.safe_load((job_dir / ".hydra" / "hydra.yaml").read_text()) or {}).get("hydra") or {}
    except (OSError, yaml.YAMLError):
        hydra = {}
    out = (hydra.get("runtime") or {}).get("output_dir")
    if out:
        return str(Path(out).parent) if hydra.get("mode") == "MULTIRUN" else str(out)
    return str(job_dir.resolve().parent)


def read_job(job_dir: Path) -> Job:
    """Final metrics (last non-empty value of each `val/*`/`test/*` column), `val/*` curves and phase starts of
    one job."""
    frame = pd.read_csv(job_dir / "csv" / "metrics.csv")
    columns = [c for c in frame.columns if c.startswith(("val/", "test/"))]
    final = {c: float(frame[c].dropna().iloc[-1]) for c in columns if frame[c].notna().any()}
    x = frame["val/epoch"] if "val/epoch" in frame else pd.Series(float("nan"), index=frame.index)
    x = x.fillna(frame["epoch"]) if "epoch" in frame else x
    curves = {}
    for c in columns:
        if c.startswith("val/") and c != "val/epoch" and frame[c].notna().any():
            rows = frame[c].notna()
            xs = x[rows].fillna(pd.Series(range(int(rows.sum())), index=x[rows].index))  # neither: the row order
            curves[c] = [(float(a), float(b)) for a, b in zip(xs, frame.loc[rows, c])]
    phase_starts = []
    if PHASE_COLUMN in frame and "epoch" in frame:
        per_epoch = frame.dropna(subset=[PHASE_COLUMN]).groupby("epoch")[PHASE_COLUMN].first()
        changed = per_epoch[per_epoch != per_epoch.shift()].iloc[1:]  # the first epoch opens phase 0, no boundary
        phase_starts = [(float(e), int(p)) for e, p in changed.items()]
    return Job(job_dir, _read_overrides(job_dir), final, curves, phase_starts, sweep_of(job_dir))


def find_jobs(sweep_dir: Path, allow_mixed: bool = True) -> list[Job]:
    """Every job below `sweep_dir` (a folder with `csv/metrics.csv`); with `allow_mixed=False`, a folder whose
    jobs belong to more than one sweep raises `ReportError`."""
    sweep_dir = Path(sweep_dir)
    dirs = sorted({p.parent.parent for p in sweep_dir.rglob("csv/metrics.csv")})
    jobs = [read_job(d) for d in dirs]
    sweeps = sorted({j.sweep for j in jobs})
    if len(sweeps) > 1 and not allow_mixed:
        shown = ", ".join(sweeps[:3]) + (", ..." if len(sweeps) > 3 else "")
        raise ReportError(f"{sweep_dir} mixes the jobs of {len(sweeps)} sweeps ({shown}): give one sweep's folder "
                          f"(multirun/<sweep_name>/<time>_<id>), or add --allow-mixed to report them together")
    return jobs


def jobs_without_metrics(sweep_dir: Path) -> list[Path]:
    """Job dirs below `sweep_dir` (with `.hydra/overrides.yaml`) that have no `csv/metrics.csv`: not reportable
    (run without `logger=csv`/`logger=many`, or died before logging)."""
    return sorted(p.parent.parent for p in Path(sweep_dir).rglob(".hydra/overrides.yaml")
                  if not (p.parent.parent / "csv" / "metrics.csv").exists())


def swept_keys(jobs: list[Job], seed_key: str = "seed") -> list[str]:
    """Override keys whose value differs between jobs (the seed excluded)."""
    keys = sorted({k for j in jobs for k in j.overrides})
    return [k for k in keys if k != seed_key and len({j.overrides.get(k) for j in jobs}) > 1]


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for one value)."""
    series = pd.Series(values, dtype=float)
    return float(series.mean()), float(series.std(ddof=1)) if len(series) > 1 else 0.0


def name_rows_by(jobs: list[Job], keys: list[str]) -> list[Job]:
    """`--group-by`: the jobs with only `keys` (and the seed) left of their overrides, so that `keys` name the rows
    instead of every swept key (e.g. not the checkpoint path each row's runs start from). Names only: a row
    whose jobs differ in another swept key raises `ReportError`, which names the key to add."""
    swept = swept_keys(jobs)
    unknown = [k for k in keys if k not in swept]
    if unknown:
        raise ReportError(f"--group-by {unknown[0]}: not a swept key of these jobs; the swept keys are "
                          f"{', '.join(swept) or '(none)'}")
    for values, members in group_jobs(jobs, keys).items():
        for key in (k for k in swept if k not in keys):
            seen = sorted({m.overrides.get(key, "") for m in members})
            if len(seen) > 1:
                row = ", ".join(f"{k}={v}" for k, v in zip(keys, values))
                raise ReportError(f"--group-by: the jobs of row {row} differ in {key} ({seen[0]!r} vs {seen[1]!r}); "
                                  f"add {key} to --group-by")
    return [replace(j, overrides={k: v for k, v in j.overrides.items() if k in keys or k == "seed"}) for j in jobs]


def group_jobs(jobs: list[Job], keys: list[str]) -> dict[tuple[str, ...], list[Job]]:
    groups: dict[tuple[str, ...], list[Job]] = {}
    for job in jobs:
        groups.setdefault(tuple(job.overrides.get(k, "") for k in keys), []).append(job)
    return dict(sorted(groups.items()))


def _default_metrics(jobs: list[Job]) -> list[str]:
    return sorted({m for j in jobs for m in j.final if m.startswith("test/") and m != "test/epoch"}) or \
        sorted({m for j in jobs for m in j.final if m.startswith("val/") and m != "val/epoch"})


def summary_frame(jobs: list[Job], metrics: list[str] | None = None) -> pd.DataFrame:
    """One row per group of the swept keys: the key values, `seeds` (jobs in the group) and, per metric,
    `<metric>` (mean), `<metric>_std` (ddof=1; NaN for one seed) and `<metric>_n` (jobs that logged it)."""
    keys = swept_keys(jobs)
    metrics = _default_metrics(jobs) if metrics is None else metrics
    by = keys or ["run"]
    rows = pd.DataFrame([{**{k: j.overrides.get(k, "") for k in keys}, "run": "all",
                          **{m: j.final.get(m, float("nan")) for m in metrics}} for j in jobs])
    grouped = rows.groupby(by, sort=True)
    table = grouped.size().rename("seeds").to_frame()
    for m in metrics:
        stats = grouped[m].agg(["mean", "std", "count"])
        table[m], table[f"{m}_std"], table[f"{m}_n"] = stats["mean"], stats["std"], stats["count"]
    return table.reset_index()


def _cell(mean: float, std: float, n: int, seeds: int, digits: int) -> str:
    if n == 0:
        return "–"
    if n == 1:  # no spread to show: the value and its one seed, not `± 0.0000`
        return f"{mean:.{digits}f} (n=1)"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" + (f" (n={n})" if n != seeds else "")


def summary_table(jobs: list[Job], metrics: list[str] | None = None, digits: int = 4) -> str:
    """Markdown table: one row per group of the swept keys, `mean ± std` over its seeds for every metric."""
    metrics = _default_metrics(jobs) if metrics is None else metrics
    frame = summary_frame(jobs, metrics)
    keys = swept_keys(jobs) or ["run"]
    header = [*keys, "seeds", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for _, row in frame.iterrows():
        cells = [str(row[k]) for k in keys] + [str(row["seeds"])]
        cells += [_cell(row[m], row[f"{m}_std"], int(row[f"{m}_n"]), int(row["seeds"]), digits) for m in metrics]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def curve_stats(points: list[tuple[float, float]]) -> pd.DataFrame:
    """`[(x, y), ...]` of one group's seeds -> a frame indexed by x (sorted) with the `mean` of y over the points
    at that x, its sample `std` (ddof=1; 0 where one point) and `n`."""
    frame = pd.DataFrame(points, columns=["x", "y"], dtype=float)
    stats = frame.groupby("x")["y"].agg(["mean", "std", "count"]).rename(columns={"count": "n"})
    return stats.fillna({"std": 0.0})  # one seed at an x: no band


def _draw_mean_band(ax, points: list[tuple[float, float]], label: str):
    """The mean line of `points` over seeds with a band of ± one std; returns the line (its colour)."""
    stats = curve_stats(points)
    (line,) = ax.plot(stats.index, stats["mean"], label=label)
    ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                    color=line.get_color(), alpha=0.25)
    return line


def _save(fig, ax, path: Path, xlabel: str, ylabel: str) -> Path:
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def parse_plots(specs: list[str] | None) -> list[tuple[list[str], str]]:
    """`["val/js1,val/js2@val/generator_iteration", "val/bleu2"]` -> [(metrics, x column)], x default `epoch`;
    one line for a malformed spec."""
    plots = []
    for spec in specs or []:
        names, _, x = spec.partition("@")
        metrics = [m for m in names.split(",") if m]
        if not metrics or (("@" in spec) and not x):
            raise ReportError(f"--plot {spec}: write METRIC[,METRIC...][@X_COLUMN], "
                              "e.g. val/js1,val/js2@val/generator_iteration")
        plots.append((metrics, x or "epoch"))
    return plots


def xy_points(job: Job, metric: str, x: str) -> list[tuple[float, float]]:
    """(x, metric) of every row of the job's metrics.csv that logs both columns (none if one is missing)."""
    frame = pd.read_csv(job.path / "csv" / "metrics.csv")
    if metric not in frame or x not in frame:
        return []
    return [(float(a), float(b)) for a, b in frame[[x, metric]].dropna().itertuples(index=False)]


def check_plots(jobs: list[Job], plots: list[tuple[list[str], str]]) -> None:
    """A `--plot` column that no job's metrics.csv logs: one line naming it and the columns there are."""
    columns = set()
    for job in jobs:
        columns |= set(pd.read_csv(job.path / "csv" / "metrics.csv", nrows=0).columns)
    for metrics, x in plots:
        missing = [c for c in (*metrics, x) if c not in columns]
        if missing:
            raise ReportError(f"--plot: no job logs {', '.join(missing)}; the logged columns are "
                              f"{', '.join(sorted(columns))}")


def plot_against(jobs: list[Job], metrics: list[str], x: str, path: Path) -> Path | None:
    """`metrics` against the column `x` in one PNG: per group of the swept keys and per metric, the mean over
    the group's seeds (`curve_stats` of their rows that log both columns) with a band of ± one std."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = swept_keys(jobs)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    drawn = False
    for values, members in group_jobs(jobs, keys).items():
        group = ", ".join(f"{k}={v}" for k, v in zip(keys, values))
        for metric in metrics:
            points = [p for j in members for p in xy_points(j, metric, x)]
            if points:
                label = " ".join(part for part in (group, metric) if part)
                _draw_mean_band(ax, points, f"{label} (n={len(members)})")
                drawn = True
    if not drawn:
        plt.close(fig)
        return None
    return _save(fig, ax, path, x, ", ".join(metrics) if len(metrics) < 3 else "value")


def plot_curves(jobs: list[Job], metric: str, path: Path) -> Path | None:
    """Mean curve of `metric` per group against the evaluation epoch, band = ± one std over seeds, a dotted line
    in the group's colour half an epoch before each phase start (between the last evaluation of one phase and
    the first of the next)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = swept_keys(jobs)
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = False
    for values, members in group_jobs(jobs, keys).items():
        points = [p for j in members for p in j.curves.get(metric, [])]
        if not points:
            continue
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, values)) or "all"
        line = _draw_mean_band(ax, points, f"{label} (n={len(members)})")
        for epoch, phase in members[0].phase_starts:  # the group's jobs share one schedule
            ax.axvline(epoch - 0.5, color=line.get_color(), linestyle=":", linewidth=1)
            ax.annotate(f"phase {phase}", (epoch - 0.5, 1.0), xycoords=("data", "axes fraction"), fontsize=7,
                        rotation=90, va="top", ha="right", color=line.get_color())
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    return _save(fig, ax, path, "epoch (schedule unit); dotted: a new training phase starts", metric)


def parse_curves(specs: list[str] | None) -> list[tuple[str, str]]:
    """`["last:SeqGAN", "end_g_pretrain:MLE"]` -> [(checkpoint file stem, curve name)]; default `[("last", "")]`
    (each group's `checkpoints/last.ckpt`, named by the group)."""
    if not specs:
        return [("last", "")]
    curves = []
    for spec in specs:
        stem, sep, name = spec.partition(":")
        if not stem or not sep or not name:
            raise ReportError(f"--curves {spec}: write STEM:NAME, e.g. end_g_pretrain:MLE (checkpoints/STEM.ckpt)")
        curves.append((stem.removesuffix(".ckpt"), name))
    return curves


def read_paper(path: Path | None) -> dict | None:
    """The `--paper` file: `{metric: NAME, rows: {CURVE: VALUE}}` (None without one); one line for a bad file."""
    if path is None:
        return None
    try:
        figures = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as ex:
        raise ReportError(f"--paper {path}: cannot read it ({type(ex).__name__}); give a YAML file "
                          "{metric: NAME, rows: {CURVE: VALUE}}") from None
    rows = figures.get("rows") if isinstance(figures, dict) else None
    if not isinstance(rows, dict) or not all(isinstance(v, (int, float)) for v in rows.values()):
        raise ReportError(f"--paper {path}: expected {{metric: NAME, rows: {{CURVE: VALUE}}}} with numbers as values")
    return figures


def checkpoint_groups(jobs: list[Job], curves: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Curve label -> the checkpoints of its runs, in job order: one curve per group of the swept keys and
    per `curves` entry (checkpoint stem, name); a group without swept keys is named by the entry alone."""
    keys = swept_keys(jobs)
    groups: dict[str, list[str]] = {}
    for values, members in group_jobs(jobs, keys).items():
        group = ", ".join(f"{k}={v}" for k, v in zip(keys, values))
        for stem, name in curves:
            ckpts = [str(j.path / "checkpoints" / f"{stem}.ckpt") for j in members
                     if (j.path / "checkpoints" / f"{stem}.ckpt").is_file()]
            label = " ".join(part for part in (group, name) if part) or "all"
            if ckpts:
                groups[label] = ckpts
    return groups


def quality_diversity_section(jobs: list[Job], temperatures: str, out: Path, num_samples: int = 10_000,
                              curves: list[str] | None = None, baseline: str | None = None,
                              paper: Path | None = None) -> str:
    """The sweep's quality-diversity plane (`textgan.cli.evaluate`): one curve per group of the swept keys (and per
    `--curves` checkpoint), the mean over its seeds at every temperature; with `baseline`, also the calibrated
    table (`textgan.cli.calibration`: floor, ceiling, every curve at T = 1, `baseline` at each curve's diversity).
    Returns the markdown lines."""
    from textgan.cli.evaluate import mean_over_runs, parse_temperatures, sweep_plane, write_plane

    groups = checkpoint_groups(jobs, parse_curves(curves))
    if not groups:
        return "No job has the checkpoints asked for: no quality-diversity plane.\n"
    lines = []
    if baseline:
        from textgan.cli.calibration import calibration_table, write_table

        if baseline not in groups:
            raise ReportError(f"--baseline {baseline}: no such curve; the curves are {', '.join(groups)}")
        figures = read_paper(paper)
        rows, axes, points = calibration_table(groups, baseline, parse_temperatures(temperatures), num_samples)
        md, _ = write_table(rows, axes, out / "calibration", (figures or {}).get("rows"),
                            (figures or {}).get("metric"))
        lines += [f"## Calibrated table ({num_samples} samples per row, mean ± std over runs; "
                  f"[calibration.csv]({(out / 'calibration' / 'calibration.csv').relative_to(out)}))", "",
                  md.read_text(encoding="utf-8"), ""]
        curves_only = [p for p in points if p.temperature is not None]
        real = [p for p in points if p.temperature is None and p.label != "uniform random tokens"]
        csv_path, png = write_plane(real + mean_over_runs(curves_only), out / "quality_diversity", 2,
                                    "quality–diversity, mean over seeds (labels: temperature)")
    else:
        _, csv_path, png = sweep_plane(groups, parse_temperatures(temperatures), out / "quality_diversity",
                                       num_samples=num_samples)
    lines += [f"Quality-diversity: mean over seeds at temperatures {temperatures} ({num_samples} samples per "
              f"point): [{csv_path.relative_to(out)}]({csv_path.relative_to(out)})", ""]
    if png is not None:
        lines.append(f"![quality-diversity]({png.relative_to(out)})\n")
    return "\n".join(lines)


def write_report(sweep_dir: Path, metrics: list[str] | None = None, out: Path | None = None,
                 quality_diversity: str | None = None, qd_samples: int = 10_000, allow_mixed: bool = False,
                 curves: list[str] | None = None, baseline: str | None = None, paper: Path | None = None,
                 plots: list[str] | None = None, group_by: list[str] | None = None) -> Path:
    """Write `report.md`, `report.csv` and the curve PNGs for the sweep in `sweep_dir` (with `quality_diversity`,
    a temperature range: also the sweep's quality-diversity plane; with `plots`, `--plot` specs: those figures
    too; with `group_by`, those swept keys name the rows); returns the markdown file. Raises
    `ReportError` for a folder without jobs or (unless `allow_mixed`) one that mixes sweeps."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ReportError(f"{sweep_dir} is not a folder; give a sweep dir (multirun/<sweep_name>/<time>_<id>)")
    if (baseline or curves or paper) and not quality_diversity:
        raise ReportError("--curves / --baseline / --paper need --quality-diversity TEMPERATURES (the temperatures "
                          "to draw and match at)")
    parse_curves(curves)  # a malformed --curves entry: one line before any work
    read_paper(paper)
    figures = parse_plots(plots)
    jobs = find_jobs(sweep_dir, allow_mixed=allow_mixed)
    if not jobs:
        raise ReportError(f"no job with csv/metrics.csv under {sweep_dir}; give a sweep dir "
                          "(multirun/<sweep_name>/<time>_<id>) of a sweep run with logger=csv or logger=many")
    check_plots(jobs, figures)
    if group_by:
        jobs = name_rows_by(jobs, group_by)
    metrics = _default_metrics(jobs) if metrics is None else metrics
    out = Path(out) if out else sweep_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    sweeps = sorted({j.sweep for j in jobs})
    text = [f"# Sweep report: {sweep_dir}", "", f"{len(jobs)} jobs of {len(sweeps)} sweep(s); swept keys: "
            f"{', '.join(swept_keys(jobs)) or '(none)'}; mean ± std (ddof=1) over seeds, one seed: its value (n=1). "
            f"Table as CSV: [report.csv](report.csv).", ""]
    missing = jobs_without_metrics(sweep_dir)
    if missing:
        names = ", ".join(p.name for p in missing)
        text += [f"**{len(missing)} job(s) without csv/metrics.csv, not in the table:** {names}", ""]
        print(f"warning: {len(missing)} job(s) under {sweep_dir} have no csv/metrics.csv: {names}", file=sys.stderr)
    text.append(summary_table(jobs, metrics))
    csv_path = out / "report.csv"
    summary_frame(jobs, metrics).to_csv(csv_path, index=False)
    for metric in sorted({m for j in jobs for m in j.curves}):
        png = plot_curves(jobs, metric, out / f"{metric.replace('/', '_')}.png")
        if png is not None:
            text.append(f"![{metric}]({png.name})\n")
    for spec, (names, x) in zip(plots or [], figures):
        name = spec.replace("/", "_").replace(",", "+").replace("@", "_vs_")
        png = plot_against(jobs, names, x, out / f"plot_{name}.png")
        if png is not None:
            text.append(f"![{spec}]({png.name})\n")
    if quality_diversity:
        text.append(quality_diversity_section(jobs, quality_diversity, out, qd_samples, curves, baseline, paper))
    report = out / "report.md"
    report.write_text("\n".join(text), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--metrics", nargs="*", default=None, help="columns of the table (default: test/*)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: SWEEP_DIR/report)")
    parser.add_argument("--allow-mixed", action="store_true",
                        help="report the jobs of several sweeps (or single runs) found under SWEEP_DIR together")
    parser.add_argument("--quality-diversity", metavar="TEMPERATURES", default=None,
                        help="also draw the quality-diversity plane at these sampling temperatures "
                             "(start:stop:step or a list, e.g. 0.5:1.5:0.1; textgan.cli.evaluate)")
    parser.add_argument("--qd-samples", type=int, default=10_000, help="samples per quality-diversity point")
    parser.add_argument("--curves", nargs="*", default=None, metavar="STEM:NAME",
                        help="checkpoints per job to draw, e.g. end_g_pretrain:MLE last:SeqGAN (default: last)")
    parser.add_argument("--baseline", default=None, metavar="CURVE",
                        help="also write the calibrated table: floor, ceiling, each curve at T=1 and this curve "
                             "at each other curve's diversity (textgan.cli.calibration)")
    parser.add_argument("--paper", type=Path, default=None, metavar="YAML",
                        help="the paper's figures for the calibrated table: {metric: NAME, rows: {CURVE: VALUE}}")
    parser.add_argument("--plot", nargs="*", default=None, metavar="METRIC[,METRIC...][@X]",
                        help="also draw these columns against column X (default epoch) in one PNG per spec, "
                             "e.g. val/js1,val/js2@val/generator_iteration")
    parser.add_argument("--group-by", nargs="*", default=None, metavar="KEY",
                        help="the swept keys that name the rows (default: all of them); the jobs of a row must "
                             "agree on the other swept keys")
    args = parser.parse_args(argv)
    if pd is None:
        print('error: the report needs pandas: pip install -e ".[report]"', file=sys.stderr)
        return 2
    try:
        report = write_report(args.sweep_dir, args.metrics, args.out, args.quality_diversity, args.qd_samples,
                              allow_mixed=args.allow_mixed, curves=args.curves, baseline=args.baseline,
                              paper=args.paper, plots=args.plot, group_by=args.group_by)
    except Exception as ex:
        status = handle(ex)  # one line for a user's mistake (textgan.errors); a bug keeps its traceback
        if status is None:
            raise
        return status
    print(report.read_text(encoding="utf-8"))
    print(f"written: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
