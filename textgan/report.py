"""Sweep dir -> table (mean ± std over seeds, grouped by the swept keys) + metric curves (mean with a band).

    python -m textgan.report multirun/seqgan_oracle/2026-01-01_12-00-00 [--metrics test/nll_oracle ...]

Reads every job of a Hydra sweep (any folder below SWEEP_DIR with `csv/metrics.csv`), no W&B account needed:

- the job's settings from `.hydra/overrides.yaml` (the command-line overrides; `.hydra/config.yaml` is the
  fallback for the seed); the *swept keys* are the override keys whose values differ between jobs, `seed`
  excluded: jobs with equal swept values form a group, their seeds the samples;
- the job's final metrics: the last logged value of every `val/*` and `test/*` column of `metrics.csv`.

Writes `SWEEP_DIR/report/report.md` (a markdown table: one row per group, `mean ± std` per metric; std is the
sample standard deviation over seeds, ddof=1, 0 for a single seed) and one PNG per `val/*` metric: the mean curve
over the group's seeds against `val/epoch` (or the csv's `epoch`), with a band of ± one standard deviation.
`--quality-diversity 0.5:1.5:0.1` also draws the sweep's quality-diversity plane (`textgan.evaluate.sweep_plane`:
one curve per group, the mean over its seeds' `checkpoints/last.ckpt` at each sampling temperature) into
`report/quality_diversity/`.
"""

from __future__ import annotations

import argparse
import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from textgan.errors import UserError, handle


class NoJobsError(UserError, FileNotFoundError):
    """The folder holds no job with `csv/metrics.csv` (not a sweep dir, or the sweep logged no CSV)."""


@dataclass
class Job:
    """One job of a sweep: its dir, overrides {key: value string}, final metrics and `val/*` curves."""

    path: Path
    overrides: dict[str, str]
    final: dict[str, float]
    curves: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # metric -> [(epoch, value)]


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


def read_job(job_dir: Path) -> Job:
    """Final metrics (last non-empty value of each `val/*`/`test/*` column) and `val/*` curves of one job."""
    with open(job_dir / "csv" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    final: dict[str, float] = {}
    curves: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        for key, text in row.items():
            if not key or text in ("", None) or not key.startswith(("val/", "test/")):
                continue
            value = float(text)
            final[key] = value
            if key.startswith("val/") and key != "val/epoch":
                x = row.get("val/epoch") or row.get("epoch") or len(curves.get(key, []))
                curves.setdefault(key, []).append((float(x), value))
    return Job(job_dir, _read_overrides(job_dir), final, curves)


def find_jobs(sweep_dir: Path) -> list[Job]:
    dirs = sorted({p.parent.parent for p in Path(sweep_dir).rglob("csv/metrics.csv")})
    return [read_job(d) for d in dirs]


def swept_keys(jobs: list[Job], seed_key: str = "seed") -> list[str]:
    """Override keys whose value differs between jobs (the seed excluded)."""
    keys = sorted({k for j in jobs for k in j.overrides})
    return [k for k in keys if k != seed_key and len({j.overrides.get(k) for j in jobs}) > 1]


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for one value)."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std


def group_jobs(jobs: list[Job], keys: list[str]) -> dict[tuple[str, ...], list[Job]]:
    groups: dict[tuple[str, ...], list[Job]] = {}
    for job in jobs:
        groups.setdefault(tuple(job.overrides.get(k, "") for k in keys), []).append(job)
    return dict(sorted(groups.items()))


def summary_table(jobs: list[Job], metrics: list[str] | None = None, digits: int = 4) -> str:
    """Markdown table: one row per group of the swept keys, `mean ± std` over its seeds for every metric."""
    keys = swept_keys(jobs)
    if metrics is None:
        metrics = sorted({m for j in jobs for m in j.final if m.startswith("test/") and m != "test/epoch"}) or \
            sorted({m for j in jobs for m in j.final if m.startswith("val/") and m != "val/epoch"})
    header = [*(keys or ["run"]), "seeds", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for values, members in group_jobs(jobs, keys).items():
        cells = list(values) if keys else ["all"]
        cells.append(str(len(members)))
        for m in metrics:
            vals = [j.final[m] for j in members if m in j.final]
            if vals:
                mean, std = mean_std(vals)
                cells.append(f"{mean:.{digits}f} ± {std:.{digits}f}")
            else:
                cells.append("–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_curves(jobs: list[Job], metric: str, path: Path) -> Path | None:
    """Mean curve of `metric` per group against the evaluation epoch, band = ± one std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = swept_keys(jobs)
    fig, ax = plt.subplots(figsize=(6, 4))
    drawn = False
    for values, members in group_jobs(jobs, keys).items():
        by_x: dict[float, list[float]] = {}
        for j in members:
            for x, y in j.curves.get(metric, []):
                by_x.setdefault(x, []).append(y)
        if not by_x:
            continue
        xs = sorted(by_x)
        stats = [mean_std(by_x[x]) for x in xs]
        means = [m for m, _ in stats]
        label = ", ".join(f"{k}={v}" for k, v in zip(keys, values)) or "all"
        ax.plot(xs, means, label=f"{label} (n={len(members)})")
        ax.fill_between(xs, [m - s for m, s in stats], [m + s for m, s in stats], alpha=0.25)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("epoch (schedule unit)")
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def quality_diversity_section(jobs: list[Job], temperatures: str, out: Path, num_samples: int = 10_000) -> str:
    """The sweep's quality-diversity plane (`textgan.evaluate.sweep_plane`): one curve per group of the swept
    keys, the mean over its seeds' `checkpoints/last.ckpt` at every temperature; returns the markdown lines."""
    from textgan.evaluate import parse_temperatures, sweep_plane

    keys = swept_keys(jobs)
    groups = {}
    for values, members in group_jobs(jobs, keys).items():
        ckpts = [str(j.path / "checkpoints" / "last.ckpt") for j in members
                 if (j.path / "checkpoints" / "last.ckpt").is_file()]
        if ckpts:
            groups[", ".join(f"{k}={v}" for k, v in zip(keys, values)) or "all"] = ckpts
    if not groups:
        return "No job has checkpoints/last.ckpt: no quality-diversity plane.\n"
    _, csv_path, png = sweep_plane(groups, parse_temperatures(temperatures), out / "quality_diversity",
                                   num_samples=num_samples)
    lines = [f"Quality-diversity: mean over seeds at temperatures {temperatures} ({num_samples} samples per point): "
             f"[{csv_path.relative_to(out)}]({csv_path.relative_to(out)})", ""]
    if png is not None:
        lines.append(f"![quality-diversity]({png.relative_to(out)})\n")
    return "\n".join(lines)


def write_report(sweep_dir: Path, metrics: list[str] | None = None, out: Path | None = None,
                 quality_diversity: str | None = None, qd_samples: int = 10_000) -> Path:
    """Write `report.md` and the curve PNGs for the sweep in `sweep_dir` (with `quality_diversity`, a temperature
    range: also the sweep's quality-diversity plane); returns the markdown file."""
    sweep_dir = Path(sweep_dir)
    jobs = find_jobs(sweep_dir)
    if not sweep_dir.is_dir():
        raise NoJobsError(f"{sweep_dir} is not a folder; give a sweep dir (multirun/<method>_<data>/<time>)")
    if not jobs:
        raise NoJobsError(f"no job with csv/metrics.csv under {sweep_dir}; give a sweep dir "
                          "(multirun/<method>_<data>/<time>) of a sweep run with logger=csv or logger=many")
    out = Path(out) if out else sweep_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    text = [f"# Sweep report: {sweep_dir}", "", f"{len(jobs)} jobs; swept keys: "
            f"{', '.join(swept_keys(jobs)) or '(none)'}; mean ± std (ddof=1) over seeds.", "",
            summary_table(jobs, metrics)]
    curves = sorted({m for j in jobs for m in j.curves})
    for metric in curves:
        png = plot_curves(jobs, metric, out / f"{metric.replace('/', '_')}.png")
        if png is not None:
            text.append(f"![{metric}]({png.name})\n")
    if quality_diversity:
        text.append(quality_diversity_section(jobs, quality_diversity, out, qd_samples))
    report = out / "report.md"
    report.write_text("\n".join(text), encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--metrics", nargs="*", default=None, help="columns of the table (default: test/*)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: SWEEP_DIR/report)")
    parser.add_argument("--quality-diversity", metavar="TEMPERATURES", default=None,
                        help="also draw the quality-diversity plane at these sampling temperatures "
                             "(start:stop:step or a list, e.g. 0.5:1.5:0.1; textgan.evaluate)")
    parser.add_argument("--qd-samples", type=int, default=10_000, help="samples per quality-diversity point")
    args = parser.parse_args(argv)
    try:
        report = write_report(args.sweep_dir, args.metrics, args.out, args.quality_diversity, args.qd_samples)
    except Exception as ex:
        status = handle(ex)  # one line for a user's mistake (textgan.errors); a bug keeps its traceback
        if status is None:
            raise
        return status
    print(report.read_text(encoding="utf-8"))
    print(f"written: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
