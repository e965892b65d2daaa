"""WGAN-GP for text (Gulrajani et al. 2017, section 5.2) on character-level English, 32 characters per
sequence.

    nice -n 10 python experiments/wgan_char/run.py             # ~20 min on a shared 2-core CPU

One run through the framework (`compose` + `textgan.train.train`, like `run.py`) with the paper's algorithm
and
optimiser (10 critic steps per generator step, lambda = 10, Adam 1e-4 / (0.5, 0.9), batch 64) but a much
narrower
network (see WIDTH: the paper's 512 channels cost minutes per generator iteration on this CPU), stopped by a
wall-clock cap (`trainer.max_time`). Evaluates every EVAL_EVERY epochs: JS-1..4 (bits) between character
n-grams
of 640 argmax samples and the training data, and the floor (640 held-out sentences vs the training data).
Writes `results.md` and `js_curves.png` here; run outputs go to `outputs/experiments/wgan_char/`
(git-ignored).

Data: `data=char_text data.seq_len=32` when that config exists; otherwise the same corpus file
(`$TEXTGAN_DATA/char_text/gutenberg_sentences.txt`) through `textgan.data.text_file.TextFileDataModule`
(character tokens, 32 characters, padded with `<pad>`, held-out split by line hash).
"""

from __future__ import annotations

import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from textgan.compose import compose_config as compose  # noqa: E402
from textgan.train import train  # noqa: E402

MAX_TIME = os.environ.get("WGAN_CHAR_MAX_TIME", "00:00:20:00")  # dd:hh:mm:ss
WIDTH = int(os.environ.get("WGAN_CHAR_WIDTH", "32"))
EVAL_EVERY = int(os.environ.get("WGAN_CHAR_EVAL_EVERY", "1"))
PUBLISHED = (
    "0.62-0.65 at ~1.9k generator iterations (the PyTorch port of the paper's code, width 512, 1B Word)"
)
DATA_ROOT = Path(os.environ.get("TEXTGAN_DATA", "/work/shared/data"))


def build_config(out: Path):
    from omegaconf import OmegaConf, open_dict

    common = [
        "method=wgan_gp",
        "logger=csv",
        "trainer=cpu",
        f"eval_every={EVAL_EVERY}",
        "num_threads=1",
        "callbacks.progress_bar=null",
        f"+trainer.max_time={MAX_TIME}",
        "trainer.enable_model_summary=false",
        f"method.generator.dim={WIDTH}",
        "method.epochs=1000",
    ]
    if (REPO / "textgan" / "conf" / "data" / "char_text.yaml").exists():
        return compose(
            [*common, "data=char_text", "data.seq_len=32", "data.add_eos=false", "data.batch_size=64"], out
        ), "char_text"
    cfg = compose(common, out)
    with open_dict(cfg):
        cfg.data = OmegaConf.create(
            {
                "_target_": "textgan.data.text_file.TextFileDataModule",
                "path": str(DATA_ROOT / "char_text" / "gutenberg_sentences.txt"),
                "tokenize": "char",
                "seq_len": 32,
                "add_eos": False,
                "batch_size": 64,
            }
        )
    return cfg, "text_file (gutenberg_sentences.txt)"


def main() -> None:
    """Train (or, with `--report-only`, reuse the run under outputs/ and its run_info.json), then report."""
    out = REPO / "outputs" / "experiments" / "wgan_char"
    cfg, data_name = build_config(out)
    info_file = out / "run_info.json"
    if "--report-only" in sys.argv:
        info = json.loads(info_file.read_text())
    else:
        info = {"load_start": os.getloadavg()[0], "max_time": MAX_TIME}
        t0 = time.time()
        train(cfg)
        info["wall"] = time.time() - t0
        info_file.write_text(json.dumps(info))
    wall, load_start = info["wall"], (info["load_start"],)
    with open(out / "csv" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    evals = [r for r in rows if r.get("val/js4")]
    test = next((r for r in rows if r.get("test/js4")), None)
    plot(evals)
    write_results(cfg, data_name, evals, test, wall, load_start, out)


def plot(evals) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = [float(r["val/generator_iteration"]) for r in evals]
    for n, color in zip(range(1, 5), ("C0", "C1", "C2", "C3")):
        ax.plot(x, [float(r[f"val/js{n}"]) for r in evals], marker="o", color=color, label=f"JS-{n}")
        if evals:
            ax.axhline(float(evals[-1][f"val/js{n}_real_floor"]), color=color, ls="--", lw=0.8)
    ax.axvline(1900, color="gray", ls=":", lw=0.8)
    ax.set_xlabel("generator iterations")
    ax.set_ylabel("JS divergence to training data (bits)")
    ax.set_title("WGAN-GP, char-level, 32 chars (dashed: held-out real data floor)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "js_curves.png", dpi=100)


def write_results(cfg, data_name, evals, test, wall, load_start, out: Path) -> None:
    def row(r, prefix="val"):
        return " | ".join(f"{float(r[f'{prefix}/js{n}']):.3f}" for n in range(1, 5))

    near = min(evals, key=lambda r: abs(float(r["val/generator_iteration"]) - 1900)) if evals else None
    if near is not None and abs(float(near["val/generator_iteration"]) - 1900) > 200:
        near = None  # 1.9k generator iterations were not reached within the wall-clock cap
    floor = evals[-1] if evals else None
    samples = sorted((out / "samples").glob("samples_test_*.txt")) or sorted((out / "samples").glob("*.txt"))
    sample_lines = samples[-1].read_text(encoding="utf-8").splitlines()[:15] if samples else []
    m, g = cfg.method, cfg.method.generator
    lines = [
        "# WGAN-GP on character-level English (32 characters)",
        "",
        f"Written by `experiments/wgan_char/run.py`. Data: {data_name}, sequences of 32 characters "
        "(`<pad>` is an ordinary symbol, as the original pads with a filler character).",
        "",
        f"Hardware: {platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs (load average "
        f"{load_start[0]:.1f} at the start), torch {torch.__version__}, 1 thread. Training wall time "
        f"{wall / 60:.1f} min (cap {MAX_TIME}).",
        "",
        "## What was shortened, and why",
        f"The paper's network has 512 channels; here **{g.dim} channels** ({g.num_blocks} residual blocks, "
        f"kernel {g.kernel_size}, residual scale {g.residual_scale}, noise {g.noise_dim}). At width 512 one "
        "generator iteration (10 critic steps with the gradient penalty's double backward + 1 generator "
        "step, batch 64) would take minutes on this CPU (width 128: ~25 s, width 32: ~1.3 s, measured alone, "
        f"one thread). Everything else is the paper's: {m.critic_steps} critic steps per generator step, "
        f"lambda = {m.gp_weight}, Adam lr {m.g_optimizer.lr} "
        f"betas {list(m.g_optimizer.betas)}, batch 64, {m.num_eval_samples} samples per evaluation. The run is cut "
        "by a "
        "wall-clock cap instead of the paper's 200k generator iterations; evaluated every "
        f"{EVAL_EVERY} epoch(s) (one epoch = one pass of the critic over the data, ~50 generator iterations).",
        "",
        f"Published reference: js4 {PUBLISHED}.",
        "",
        "## JS divergence (bits) to the training data",
        "",
        "| point | generator iterations | JS-1 | JS-2 | JS-3 | JS-4 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    if near is not None:
        lines.append(
            f"| evaluation nearest 1.9k iterations | {float(near['val/generator_iteration']):.0f} | "
            f"{row(near)} |"
        )
    elif evals:
        lines.append("| 1.9k iterations | not reached within the wall-clock cap | - | - | - | - |")
    if evals:
        lines.append(
            f"| last evaluation | {float(evals[-1]['val/generator_iteration']):.0f} | {row(evals[-1])} |"
        )
    if test is not None:
        lines.append(
            f"| final model (test pass) | {float(test['test/generator_iteration']):.0f} | "
            f"{row(test, 'test')} |"
        )
    if floor is not None:
        lines.append(
            "| floor: 640 held-out real sentences | - | "
            + " | ".join(f"{float(floor[f'val/js{n}_real_floor']):.3f}" for n in range(1, 5))
            + " |"
        )
    lines += [
        "",
        "![JS curves](js_curves.png)",
        "",
        "All evaluations:",
        "",
        "| generator iterations | JS-1 | JS-2 | JS-3 | JS-4 |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {float(r['val/generator_iteration']):.0f} | {row(r)} |" for r in evals]
    lines += ["", "## Samples (argmax decoding, final model)", "", "```", *sample_lines, "```", ""]
    (HERE / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
