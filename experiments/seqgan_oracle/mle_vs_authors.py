"""Write `mle_vs_authors.md`: textgan's MLE on the authors' oracle (runs of `mle_vs_authors.sh`, plus the short
SeqGAN runs of `rollout_policy.sh` when present) beside the authors' NLL-oracle log.

Usage: python experiments/seqgan_oracle/mle_vs_authors.py   (reads TEXTGAN_DATA/seqgan_oracle/experiment-log.txt)
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = {
    "pytorch_shuffled": "textgan's defaults: PyTorch init, learned start vector, shuffled batches, 10,000 samples",
    "seqgan_shuffled": "`method.generator.init=seqgan`, shuffled batches, 10,000 samples",
    "seqgan_ordered": "`init=seqgan data.shuffle=false data.num_train=9984` (the authors' code)",
    "seqgan_ordered_2016": "as above, trained on the 2016 file (`data.train_file=real_data.txt`)",
}


def authors_log(path: Path) -> dict[str, dict[int, float]]:
    """{"pre": {epoch: nll}, "adv": {...}} from the authors' experiment-log.txt."""
    out, part = {"pre": {}, "adv": {}}, "pre"
    for line in path.read_text().splitlines():
        if line.startswith("adversarial"):
            part = "adv"
        m = re.match(r"epoch:\s+(\d+)\s+nll:\s+([\d.]+)", line)
        if m:
            out[part][int(m.group(1))] = float(m.group(2))
    return out


def evaluations(run: Path) -> dict[int, tuple[float, float]]:
    """{epochs trained: (NLL-oracle, NLL-test)} of a run's csv log."""
    out = {}
    with open(run / "csv" / "metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("val/nll_oracle"):
                out[int(float(row["val/epoch"])) + 1] = (float(row["val/nll_oracle"]), float(row["val/nll_test"]))
    return out


def walltimes(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {line.split()[0]: line.split(" ", 1)[1] for line in path.read_text().splitlines() if line.strip()}


def rollout_section() -> list[str]:
    """NLL-oracle of the short SeqGAN runs of `rollout_policy.sh`, one per rollout policy."""
    runs = {p: HERE / "runs" / f"rollout_{p}" for p in ("current", "delayed")}
    runs = {p: evaluations(r) for p, r in runs.items() if (r / "csv" / "metrics.csv").exists()}
    if not runs:
        return []
    epochs = sorted(set().union(*runs.values()))
    lines = ["", "## Rollout policy: one short SeqGAN run each (`rollout_policy.sh`)", "",
             "Same seed, so both share the 5 MLE epochs and 5 D pre-training rounds; they differ from the first",
             "adversarial round on (epochs 11-20 = rounds 1-10). D pools of 192 positives + 192 negatives",
             "(authors: 9,984 + 9,984). NLL-oracle / NLL-test:", "",
             "| epochs | " + " | ".join(f"`rollout_policy={p}`" for p in runs) + " |", "| --- |" + " --- |" * len(runs)]
    for k in epochs:
        lines.append(f"| {k} | " + " | ".join(
            f"{ev[k][0]:.3f} / {ev[k][1]:.3f}" if k in ev else "" for ev in runs.values()) + " |")
    if len(runs) == 2:
        a, b = runs.values()
        gap = max(abs(a[k][0] - b[k][0]) for k in set(a) & set(b))
        lines += ["", f"Largest NLL-oracle difference between the policies: {gap:.3f} nats/token. The delayed copy",
                  "trails G by about 1 / (1 - 0.8) = 5 policy-gradient steps; over 10 rounds that does not show",
                  "beyond the evaluation's sampling noise. A longer run is needed to see whether it ever matters."]
    return lines


def reference_rows(root: Path, n: int = 10_000) -> list[str]:
    """NLL-oracle of the floor and of random generators under the authors' oracle (seeded, `n` sequences)."""
    import torch

    from textgan.data.oracle import load_seqgan_oracle, read_token_file
    from textgan.metrics.nll import nll_oracle
    from textgan.models.lstm import LSTMGenerator

    torch.manual_seed(0)
    oracle = load_seqgan_oracle(root / "target_params_py3.pkl")
    rows = {
        "the oracle's own samples (its entropy rate, the floor)": oracle.sample(n, 20),
        "`real_data.txt`, the authors' 2016 training set (9,984)": read_token_file(root / "real_data.txt", 5000, 20),
        "uniform random tokens": torch.randint(0, 5000, (n, 20)),
        "untrained generator, `init=seqgan` (N(0, 0.1))": LSTMGenerator(5000, 32, 32, init="seqgan").sample(n, 20),
        "untrained generator, `init=pytorch`": LSTMGenerator(5000, 32, 32).sample(n, 20),
    }
    lines = ["", "## Reference rows on the authors' oracle", "",
             f"NLL-oracle of {n:,} sequences (torch seed 0). The paper's \"random 10.310\" is reproduced by none.", "",
             "| sequences | NLL-oracle |", "| --- | --- |"]
    with torch.no_grad():
        lines += [f"| {name} | {nll_oracle(oracle, x):.3f} |" for name, x in rows.items()]
    return lines


def main() -> None:
    data = Path(os.environ.get("TEXTGAN_DATA", "../shared/data")) / "seqgan_oracle" / "experiment-log.txt"
    log = authors_log(data)
    runs = {n: evaluations(HERE / "runs" / f"mle_{n}") for n in RUNS if (HERE / "runs" / f"mle_{n}" / "csv").exists()}
    times = walltimes(HERE / "mle_walltimes.log")
    lines = [
        "# MLE on the authors' oracle: textgan vs the authors' log",
        "",
        "Written by `python experiments/seqgan_oracle/mle_vs_authors.py` from the runs of `mle_vs_authors.sh`",
        "(`method=mle data=oracle data.oracle=seqgan method.epochs=16 eval_every=1 seed=12345`, NLL-oracle of 10,000",
        "samples after every epoch). The authors' log (`experiment-log.txt`, their 2018 code) writes `epoch k` after",
        "k + 1 epochs of training (`if epoch % 5 == 0` follows the epoch), so it is compared with textgan after k + 1.",
        "One seed (12345) per configuration: differences of a few hundredths are within seed-to-seed variation.",
        "Commands: `bash experiments/seqgan_oracle/mle_vs_authors.sh` (under the machine's heavy-run `flock`), i.e.",
        "`python run.py method=mle data=oracle data.oracle=seqgan method.epochs=16 eval_every=1 logger=csv",
        "trainer=cpu num_threads=1 test=false method.num_eval_samples=10000 seed=12345 <configuration's flags>`;",
        "`rollout_policy.sh` likewise for the SeqGAN runs.",
        "",
        "## NLL-oracle (nats/token) at the authors' logged epochs",
        "",
        "| configuration | after 1 | after 6 | after 11 | after 16 |",
        "| --- | --- | --- | --- | --- |",
        "| authors' log (`epoch` 0 / 5 / 10 / 15) | " + " | ".join(f"{log['pre'][k]:.3f}" for k in (0, 5, 10, 15))
        + " |",
    ]
    for name, ev in runs.items():
        cells = [f"{ev[k][0]:.3f}" if k in ev else "" for k in (1, 6, 11, 16)]
        lines.append(f"| {RUNS[name]} | " + " | ".join(cells) + " |")
    lines += ["", "Gap to the authors' log (textgan minus log; negative: textgan is lower, i.e. better):", "",
              "| configuration | after 6 | after 11 | after 16 |", "| --- | --- | --- | --- |"]
    for name, ev in runs.items():
        cells = [f"{ev[k + 1][0] - log['pre'][k]:+.3f}" if k + 1 in ev else "" for k in (5, 10, 15)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "What it shows: the gap the issue reported (textgan's defaults) is the initialisation. With",
              "`method.generator.init=seqgan` textgan's MLE matches the log with the authors' data order and is",
              "below it with shuffled batches (one seed each). NLL-test (the model's NLL of held-out oracle data)",
              "bottoms out after 4-5 epochs and then rises in every configuration: 10,000 training sequences",
              "over-fit, whatever the initialisation; the authors do not log NLL-test, and their NLL-oracle flattens",
              "from epoch 15 on (9.07-9.14 up to epoch 115)."]
    lines += ["", "## Every epoch: NLL-oracle / NLL-test (held-out oracle samples under the model)", "",
              "| epochs | " + " | ".join(runs) + " |", "| --- |" + " --- |" * len(runs)]
    for k in range(1, 17):
        lines.append(f"| {k} | " + " | ".join(
            f"{ev[k][0]:.3f} / {ev[k][1]:.3f}" if k in ev else "" for ev in runs.values()) + " |")
    if "seqgan_ordered" in runs:
        lines += ["", "(`seqgan_ordered` ran before the held-out set got its own random stream, so its NLL-test is on",
                  "another 10,000 samples of the same oracle; its NLL-oracle is unaffected.)"]
    lines += reference_rows(data.parent)
    lines += rollout_section()
    lines += ["", "## Wall time", "", "2 CPU cores shared with other jobs (load average at the end of each run),",
              "one thread per run, PyTorch 2.13.0+cpu. Evaluating after every epoch (10,000 samples) is a large part",
              "of the MLE runs' time.", "", "| run | wall time, load |", "| --- | --- |"]
    times |= walltimes(HERE / "rollout_walltimes.log")
    lines += [f"| {n} | {t} |" for n, t in times.items()]
    (HERE / "mle_vs_authors.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
