"""Benchmark: batched Monte Carlo rewards (`textgan.rollout.mc_rewards`) against the original per-prefix,
per-rollout loop (`mc_rewards_loop`, SeqGAN's reference algorithm), on identical weights, in one process,
interleaved (loop, batched fp32, batched bf16, ... repeated), at SeqGAN's setting: batch 64, length 20,
vocabulary 5000, 16 rollouts, the paper's CNN discriminator.

It also measures this machine's matmul peak (fp32 and bf16) in the same run and reports which fraction of it the
discriminator work inside `mc_rewards` reaches (the discriminator's convolutions dominate the cost).

    python experiments/bench_rollout.py            # table
    python experiments/bench_rollout.py --json     # one JSON object
    python experiments/bench_rollout.py --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch

from textgan.models.cnn import CNNDiscriminator
from textgan.models.lstm import LSTMGenerator
from textgan.rollout import mc_rewards, mc_rewards_loop


def discriminator_macs(d: CNNDiscriminator, rows: int, seq_len: int) -> float:
    """Multiply-accumulates of `d` on `rows` sequences: convolutions + highway + output layer."""
    t = max(seq_len, max(d.filter_sizes))
    emb = d.embedding.embedding_dim
    conv = sum((t - c.kernel_size[0] + 1) * c.kernel_size[0] * emb * c.out_channels for c in d.convs)
    feats = d.output.in_features
    return rows * (conv + feats * 2 * feats + feats * 2)


def matmul_peak(dtype: torch.dtype, n: int = 1024, repeats: int = 3) -> float:
    """Best GMAC/s of an n x n x n matrix product in `dtype`."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return n**3 / best / 1e9


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=20)
    p.add_argument("--vocab", type=int, default=5000)
    p.add_argument("--rollouts", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3, help="interleaved repetitions (medians reported)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--variants", default="loop_fp32,batched_fp32,batched_bf16",
                   help="comma-separated subset of loop_fp32, batched_fp32, batched_bf16 (bf16 autocast is only fast "
                        "on CPUs with bf16 instructions (AVX512-BF16/AMX) and on GPUs)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    g = LSTMGenerator(args.vocab, 32, 32).eval()
    d = CNNDiscriminator(args.vocab).eval()
    seqs = g.sample(args.batch, args.seq_len)
    bf16 = torch.autocast("cpu", dtype=torch.bfloat16)

    def batched_bf16():
        with bf16:
            mc_rewards(g, d.prob_real, seqs, args.rollouts)

    variants = {
        "loop_fp32": lambda: mc_rewards_loop(g, d.prob_real, seqs, args.rollouts),
        "batched_fp32": lambda: mc_rewards(g, d.prob_real, seqs, args.rollouts),
        "batched_bf16": batched_bf16,
    }
    variants = {k: v for k, v in variants.items() if k in args.variants.split(",")}
    for fn in variants.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {k: [] for k in variants}
    peaks: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            times[name].append(timed(fn))
        peaks["fp32"].append(matmul_peak(torch.float32))
        if "batched_bf16" in variants:
            peaks["bf16"].append(matmul_peak(torch.bfloat16))

    rows = (args.seq_len - 1) * args.rollouts * args.batch + args.batch
    gmac = discriminator_macs(d, rows, args.seq_len) / 1e9
    med = {k: statistics.median(v) for k, v in times.items()}
    peak = {k: max(v) for k, v in peaks.items() if v}
    result = {
        "setting": {"batch": args.batch, "seq_len": args.seq_len, "vocab": args.vocab, "rollouts": args.rollouts,
                    "threads": args.threads, "repeats": args.repeats},
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "torch": torch.__version__},
        "median_s": med,
        "discriminator_gmac_per_call": gmac,
        "matmul_peak_gmac_s": peak,
        "fraction_of_peak": {k: gmac / med[k] / peak[k.split("_")[1]] for k in med if k.startswith("batched")},
    }
    if "loop_fp32" in med:
        result["speedup_vs_loop"] = {k: med["loop_fp32"] / med[k] for k in med if k != "loop_fp32"}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"mc_rewards benchmark: batch {args.batch}, length {args.seq_len}, vocab {args.vocab}, "
          f"{args.rollouts} rollouts, {args.threads} threads, median of {args.repeats}")
    print(f"discriminator work per call: {gmac:.1f} GMAC; matmul peak here: "
          + ", ".join(f"{v:.1f} GMAC/s {k}" for k, v in peak.items()))
    for name, t in med.items():
        line = f"  {name:13s} {t:8.2f} s"
        if name != "loop_fp32" and "loop_fp32" in med:
            line += f"   {med['loop_fp32'] / t:5.2f}x faster than the loop"
        if name in result["fraction_of_peak"]:
            line += f"   {100 * result['fraction_of_peak'][name]:4.0f}% of the {name.split('_')[1]} matmul peak"
        print(line)


if __name__ == "__main__":
    main()
