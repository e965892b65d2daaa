"""Calibrated results tables: each model between the data's own floor and ceiling, and the MLE baseline sampled at
the temperature that gives it a GAN's diversity (Caccia et al., "Language GANs Falling Short", ICLR 2020, sec. 4).

A number such as "NLL-oracle 8.9" means little alone: the table puts beside it
- the ceiling: the real data scored like a model's samples (`textgan.cli.evaluate.real_data_point`: on the oracle, the
  oracle's own samples; on text, training sentences against the test references);
- the floor: a uniform random generator, every emittable token equally likely at every position
  (`uniform_point`; its NLL-test is exactly `log(number of emittable tokens)`);
- every model at temperature 1 (mean ± std over its runs, i.e. seeds);
- the baseline at the temperature where its diversity equals each other model's (`matched_point`): a GAN that
  only trades diversity for quality scores no better than this row. Runs are paired in order (run i of the
  baseline with run i of the other model; `textgan.cli.report` lists both in job order).

`calibration_table(groups, baseline, temperatures, ...)` computes the rows and `write_table` writes
`calibration.md` + `calibration.csv`; `textgan.cli.report --baseline LABEL` calls both for a sweep.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from textgan.cli.evaluate import (
    Point,
    _device,
    curve_points,
    load_checkpoints,
    plane_axes,
    real_data_point,
    shared_datamodule,
)
from textgan.methods.base import TextGANModule


def emittable_tokens(vocab) -> list[int]:
    """Ids a generator can emit: every id but `<pad>` and `<bos>` (`<eos>` and `<unk>` included)."""
    excluded = {vocab.pad_id, vocab.bos_id} - {None}
    return [i for i in range(len(vocab)) if i not in excluded]


def uniform_samples(vocab, num_samples: int, seq_len: int, seed: int) -> torch.Tensor:
    """`[num_samples, seq_len]` draws of the uniform generator over `emittable_tokens`; after a sequence's first
    `<eos>` the rest is `<pad>` (where the vocabulary has both), as a model's samples are."""
    ids = torch.tensor(emittable_tokens(vocab))
    gen = torch.Generator().manual_seed(seed)
    tokens = ids[torch.randint(len(ids), (num_samples, seq_len), generator=gen)]
    if vocab.eos_id is not None and vocab.pad_id is not None:
        after_eos = (tokens == vocab.eos_id).long().cumsum(1).roll(1, 1)
        after_eos[:, 0] = 0
        tokens[after_eos > 0] = vocab.pad_id
    return tokens


def uniform_point(method: TextGANModule, dm, num_samples: int, seed: int) -> Point:
    """The floor: uniform random sequences scored like a model's samples; NLL-test = log(#emittable tokens)."""
    samples = uniform_samples(method.vocab, num_samples, dm.test_tokens.shape[1], seed).to(method.device)
    metrics = TextGANModule.sample_metrics(method, samples)
    metrics["nll_test"] = math.log(len(emittable_tokens(method.vocab)))
    return Point("uniform random tokens", "", None, num_samples, metrics)


def _base(name: str) -> str:
    return name.rstrip("0123456789")


def matched_point(curve: list[Point], target: float, diversity: str, quality: str) -> tuple[float, float] | None:
    """(temperature, quality) of `curve` (one run's points at several temperatures) where its `diversity` equals
    `target`, by linear interpolation between the two neighbouring temperatures; None when no two neighbouring
    temperatures bracket `target` (widen the temperature range)."""
    points = sorted((p for p in curve if p.temperature is not None and diversity in p.metrics
                     and quality in p.metrics), key=lambda p: p.temperature)
    for a, b in zip(points, points[1:]):
        da, db = a.metrics[diversity], b.metrics[diversity]
        if min(da, db) <= target <= max(da, db):
            w = 0.0 if da == db else (target - da) / (db - da)
            return (a.temperature + w * (b.temperature - a.temperature),
                    a.metrics[quality] + w * (b.metrics[quality] - a.metrics[quality]))
    return None


@dataclass
class Row:
    """One row of a calibrated table: a name, the temperature(s) and every measure as (mean, std, n)."""

    name: str
    temperature: tuple[float, float, int] | None
    metrics: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    label: str | None = None  # the curve (or reference point) a T = 1 / reference row shows; None for matched rows


def _mean_std(values: list[float]) -> tuple[float, float, int]:
    mean = math.fsum(values) / len(values)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std, len(values)


def _row(name: str, points: list[Point], temperature: tuple[float, float, int] | None = None,
         label: str | None = None) -> Row:
    names = sorted(set().union(*(p.metrics for p in points)))
    return Row(name, temperature, {m: _mean_std([p.metrics[m] for p in points if m in p.metrics]) for m in names},
               label)


def calibration_rows(points: list[Point], baseline: str, bleu_n: int = 2) -> tuple[list[Row], tuple[str, str]]:
    """Rows from per-run `points` (the real and the uniform point: temperature None; every run's curve: label,
    checkpoint, temperature): ceiling, floor, each label at T = 1, then `baseline` at each other label's
    diversity. Returns the rows and the plane's (quality, diversity) measures."""
    axes = plane_axes(points, bleu_n)
    if axes is None:
        raise ValueError("these points have no quality-diversity pair of measures")
    quality, diversity = axes
    rows = [_row(p.label, [p], label=p.label) for p in points if p.temperature is None]
    labels = list(dict.fromkeys(p.label for p in points if p.temperature is not None))
    if baseline not in labels:
        raise ValueError(f"baseline {baseline!r} is none of the curves: {', '.join(labels)}")

    def runs(label: str) -> list[list[Point]]:
        by_ckpt: dict[str, list[Point]] = {}
        for p in points:
            if p.label == label and p.temperature is not None:
                by_ckpt.setdefault(p.checkpoint, []).append(p)
        return list(by_ckpt.values())

    for label in labels:
        at_one = [p for run in runs(label) for p in run if p.temperature == 1.0]
        rows.append(_row(f"{label}, T = 1", at_one, (1.0, 0.0, len(at_one)), label))
    for label in labels:
        if label == baseline:
            continue
        matched = [matched_point(base_run, other_one.metrics[diversity], diversity, quality)
                   for base_run, other_run in zip(runs(baseline), runs(label))
                   for other_one in other_run if other_one.temperature == 1.0]
        found = [m for m in matched if m is not None]
        name = f"{baseline} at {label}'s {diversity}"
        if not found:
            rows.append(Row(name + " (outside the temperature range)", None, {}))
            continue
        if len(found) < len(matched):
            name += f" ({len(matched) - len(found)} of {len(matched)} runs outside the temperature range)"
        rows.append(Row(name, _mean_std([t for t, _ in found]),
                        {quality: _mean_std([q for _, q in found]), diversity: _mean_std(
                            [o.metrics[diversity] for r in runs(label) for o in r if o.temperature == 1.0])}))
    return rows, (quality, diversity)


@torch.no_grad()
def calibration_table(groups: dict[str, list[str]], baseline: str, temperatures: list[float],
                      num_samples: int = 10_000, seed: int = 0, device: str = "auto", batch_size: int = 256,
                      bleu_n: int = 2, progress: bool = True) -> tuple[list[Row], tuple[str, str], list[Point]]:
    """The calibrated rows (`calibration_rows`) of `groups` (curve label -> its runs' checkpoints, one per seed,
    all trained on the same data), every run evaluated at every temperature (1.0 is added if missing)."""
    temperatures = sorted(set(temperatures) | {1.0})
    paths = [p for members in groups.values() for p in members]
    loaded = load_checkpoints(paths, _device(device))
    dm = shared_datamodule(loaded)
    by_path = {path: method for path, method, _ in loaded}
    first = loaded[0][1]
    points = [real_data_point(first, dm, num_samples, seed, batch_size), uniform_point(first, dm, num_samples, seed)]
    runs = [(path, label, by_path[str(path)]) for label, members in groups.items() for path in map(str, members)]
    points += curve_points(runs, dm, temperatures, num_samples, seed, batch_size, progress)
    rows, axes = calibration_rows(points, baseline, bleu_n)
    return rows, axes, points


def _cell(value: tuple[float, float, int] | None, digits: int = 3) -> str:
    if value is None:
        return ""
    mean, std, n = value
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if n > 1 else f"{mean:.{digits}f}"


def write_table(rows: list[Row], axes: tuple[str, str], out: Path, paper: dict[str, float] | None = None,
                paper_metric: str | None = None) -> tuple[Path, Path]:
    """`out/calibration.md` (quality and diversity first, then every other measure; mean ± std over runs, `n`
    runs) and `out/calibration.csv` (the same numbers, `<metric>`, `<metric>_std`, `<metric>_n` columns).
    `paper`: curve or reference label (e.g. "MLE", "uniform random tokens") -> the paper's figure of
    `paper_metric`, shown in a column of its own on that label's T = 1 (or reference) row."""
    out.mkdir(parents=True, exist_ok=True)
    others = sorted(set().union(*(r.metrics for r in rows)) - set(axes))
    columns = [*axes, *others]
    header = ["row", "T", *columns, "runs"] + ([f"paper {paper_metric}"] if paper else [])
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for r in rows:
        n = max((v[2] for v in r.metrics.values()), default=0)
        cells = [r.name, _cell(r.temperature, 2), *(_cell(r.metrics.get(c)) for c in columns), str(n)]
        if paper:
            figure = paper.get(r.label) if r.label is not None else None
            cells.append("" if figure is None else f"{figure:g}")
        lines.append("| " + " | ".join(cells) + " |")
    md = out / "calibration.md"
    tmp = md.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, md)
    csv_path = out / "calibration.csv"
    tmp = csv_path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "temperature", "temperature_std"]
                        + [f"{c}{s}" for c in columns for s in ("", "_std", "_n")])
        for r in rows:
            t = r.temperature or ("", "", "")
            values = [x for c in columns for x in (r.metrics.get(c) or ("", "", ""))]
            writer.writerow([r.name, t[0], t[1], *values])
    os.replace(tmp, csv_path)
    return md, csv_path
