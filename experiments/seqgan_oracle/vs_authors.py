"""textgan's SeqGAN Table 1 runs beside the authors' NLL-oracle log: one plot (MLE pre-training by epoch,
adversarial training by round) and a markdown table of the gap at the authors' logged points.

    python experiments/seqgan_oracle/vs_authors.py multirun/seqgan_table1_cpu [--out experiments/seqgan_oracle]

Reads every job under the folder (`textgan.cli.report.find_jobs`, several sweeps allowed: seeds run as parallel
sweeps) and `$TEXTGAN_DATA/seqgan_oracle/experiment-log.txt`. Both are indexed by what was trained: the authors'
pre-training "epoch k" is logged after k + 1 epochs, their adversarial "epoch k" after k + 1 generator steps
(rounds); textgan's `val/epoch` e after e + 1 epochs, i.e. after e + 1 - g_pretrain_epochs - d_pretrain_rounds
adversarial rounds. With `eval_every=5` textgan evaluates after 5, 10, ... and the authors after 1, 6, 11, ...: the
table sets textgan after 5j beside the authors after 5j + 1 (one epoch or round less for textgan).
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import yaml
from mle_vs_authors import authors_log  # this folder's reader of the authors' log (the script's dir is on sys.path)

from textgan.cli.report import find_jobs

METRIC = "val/nll_oracle"


def schedule(job_dir: Path) -> tuple[int, int]:
    """(g_pretrain_epochs, d_pretrain_rounds) of a job, from its `.hydra/config.yaml`."""
    method = yaml.safe_load((job_dir / ".hydra" / "config.yaml").read_text())["method"]
    return int(method["g_pretrain_epochs"]), int(method["d_pretrain_rounds"])


def mean_std(values: list[float]) -> tuple[float, float, int]:
    mean = math.fsum(values) / len(values)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std, len(values)


def authors_trained(log: dict) -> dict[str, dict[int, float]]:
    """The authors' log keyed by epochs (pre) / rounds (adv) trained: their "epoch k" is after k + 1."""
    return {part: {k + 1: v for k, v in values.items()} for part, values in log.items()}


def ours(jobs) -> dict[str, dict[int, list[float]]]:
    """{"pre": {epochs trained: [value per seed]}, "adv": {rounds trained: [...]}}."""
    out: dict[str, dict[int, list[float]]] = {"pre": {}, "adv": {}}
    for job in jobs:
        g_epochs, d_rounds = schedule(job.path)
        for epoch, value in job.curves.get(METRIC, []):
            trained = int(epoch) + 1
            if trained <= g_epochs:
                out["pre"].setdefault(trained, []).append(value)
            elif trained > g_epochs + d_rounds:
                out["adv"].setdefault(trained - g_epochs - d_rounds, []).append(value)
    return out


def table(theirs: dict, mine: dict) -> str:
    """Rows at the authors' logged points: their value after t + 1, textgan's after t (mean ± std over seeds)."""
    lines = ["| phase | authors: after | authors' log | textgan: after | textgan (mean ± std, n) | gap |",
             "| --- | --- | --- | --- | --- | --- |"]
    for part, name, unit in (("pre", "MLE pre-training", "epochs"), ("adv", "adversarial", "rounds")):
        for t, value in sorted(theirs[part].items()):
            if t - 1 not in mine[part]:
                continue
            mean, std, n = mean_std(mine[part][t - 1])
            lines.append(f"| {name} | {t} {unit} | {value:.3f} | {t - 1} {unit} | {mean:.3f} ± {std:.3f} ({n}) | "
                         f"{mean - value:+.3f} |")
    return "\n".join(lines) + "\n"


def plot(log: dict, mine: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, part, xlabel in ((axes[0], "pre", "MLE pre-training epochs"), (axes[1], "adv", "adversarial rounds")):
        xs = sorted(log[part])
        ax.plot(xs, [log[part][t] for t in xs], "k--", label="authors' log (their code, 1 run)")
        ks = sorted(mine[part])
        stats = [mean_std(mine[part][k]) for k in ks]
        n = max((s[2] for s in stats), default=0)
        ax.plot(ks, [s[0] for s in stats], "C0-", label=f"textgan (mean over {n} seeds)")
        ax.fill_between(ks, [s[0] - s[1] for s in stats], [s[0] + s[1] for s in stats],
                        color="C0", alpha=0.25)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("NLL-oracle (nats/token)")
    axes[0].legend()
    fig.suptitle("SeqGAN on the authors' oracle: textgan vs the authors' log")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    log_file = Path(os.environ.get("TEXTGAN_DATA", "data")) / "seqgan_oracle" / "experiment-log.txt"
    if not log_file.is_file():
        raise SystemExit(f"error: {log_file} not found; set TEXTGAN_DATA to the folder holding seqgan_oracle/ "
                         "(../shared/data/seqgan_oracle/SOURCE.md)")
    log = authors_trained(authors_log(log_file))
    mine = ours(find_jobs(args.sweep_dir, allow_mixed=True))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "vs_authors.md").write_text(table(log, mine), encoding="utf-8")
    plot(log, mine, args.out / "vs_authors.png")
    print(table(log, mine))


if __name__ == "__main__":
    main()
