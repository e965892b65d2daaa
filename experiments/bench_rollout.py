"""Benchmark: batched Monte Carlo rewards (`textgan.rollout.mc_rewards`) against the original per-prefix,
per-rollout loop (`mc_rewards_loop`, SeqGAN's reference algorithm), on identical weights, in one process,
interleaved (loop, batched fp32, batched bf16, matmul peak, ... repeated), at SeqGAN's setting: batch 64, length 20,
vocabulary 5000, 16 rollouts, the paper's CNN discriminator. The loop scores with the plain discriminator
(`CNNDiscriminator.prob_real`: conv1d); `batched_fp32` with SeqGAN's default reward, `textgan.fast.cnn`'s
`PrefixSharingScorer` over the same weights; `batched_plain_fp32` is `mc_rewards` with the plain discriminator.

It measures this machine's fp32 (and bf16) matmul peak in the same run (large square products, best of several,
measured between the repetitions) and reports which fraction of it `mc_rewards` reaches:

    fraction = nominal work per call / median time per call / peak

The nominal work is what a call has to do when every completion is scored from scratch: the discriminator on
`(seq_len - 1) * rollouts * batch + batch` sequences plus the generator's output layer on every sampled token.
`mc_rewards` skips part of it (convolution taps on a prefix shared by all rollouts are computed once per prefix),
so the work it actually executes is lower; both are printed. `--breakdown` also times the two halves of a call
alone: sampling the completions (generator) and scoring them (discriminator). Like a training run, the benchmark
first lets glibc keep freed memory (`textgan.fast.cpu_memory`); `--allocator-defaults` measures without that.

    python experiments/bench_rollout.py                       # table
    python experiments/bench_rollout.py --json                # one JSON object
    python experiments/bench_rollout.py --repeats 5 --threads 2 --variants loop_fp32,batched_fp32 --breakdown
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import time

import torch

from textgan.fast.cnn import PrefixSharingScorer
from textgan.fast.cpu_memory import keep_freed_memory
from textgan.models.cnn import CNNDiscriminator
from textgan.models.lstm import LSTMGenerator
from textgan.rollout import mc_rewards, mc_rewards_loop, rollout_completions


def conv_macs(d: CNNDiscriminator, seq_len: int, prefix_len: int = 0) -> int:
    """Convolution multiply-accumulates for one sequence; with `prefix_len`, only the taps on tokens after the
    prefix (what `textgan.fast.cnn.PrefixSharingScorer` computes per row when the prefix is shared)."""
    t = max(seq_len, max(d.filter_sizes))
    emb = d.embedding.embedding_dim
    total = 0
    for k, conv in zip(d.filter_sizes, d.convs):
        taps = sum(1 for p in range(t - k + 1) for j in range(k) if p + j >= prefix_len)
        total += taps * emb * conv.out_channels
    return total


def dense_macs(d: CNNDiscriminator) -> int:
    """Highway + output layer multiply-accumulates for one sequence."""
    feats = d.output.in_features
    return feats * 2 * feats + feats * 2


def work_gmac(g: LSTMGenerator, d: CNNDiscriminator, batch: int, seq_len: int, rollouts: int) -> dict[str, float]:
    """Nominal and executed work of one `mc_rewards` call, in GMAC."""
    rows = (seq_len - 1) * rollouts * batch + batch
    d_nominal = rows * (conv_macs(d, seq_len) + dense_macs(d))
    full = conv_macs(d, seq_len)
    shared = sum(rollouts * batch * conv_macs(d, seq_len, m) + batch * (full - conv_macs(d, seq_len, m))
                 for m in range(1, seq_len))  # per-row suffix taps + the prefix taps once per prefix
    d_executed = shared + batch * conv_macs(d, seq_len) + rows * dense_macs(d)
    hidden = g.output.in_features
    step_macs = hidden * g.vocab_size + 4 * hidden * (hidden + g.embedding.embedding_dim)  # output layer + LSTM
    g_rows = rollouts * batch * seq_len * (seq_len - 1) // 2 + batch * seq_len  # sampled tokens + prefix pass
    g_work = g_rows * step_macs
    return {"discriminator_nominal": d_nominal / 1e9, "discriminator_executed": d_executed / 1e9,
            "generator": g_work / 1e9, "nominal": (d_nominal + g_work) / 1e9, "executed": (d_executed + g_work) / 1e9}


def synchronize(device: torch.device | str = "cpu") -> None:
    """Wait for the work queued on `device` (CUDA kernels run asynchronously; a CPU needs no wait)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(dtype: torch.dtype, sizes: tuple[int, ...] = (1024, 2048), repeats: int = 3,
                device: torch.device | str = "cpu") -> float:
    """Best GMAC/s of square matrix products in `dtype` over `sizes` on `device`."""
    best_rate = 0.0
    for n in sizes:
        a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
        a @ b
        for _ in range(repeats):
            best_rate = max(best_rate, n**3 / timed(functools.partial(torch.matmul, a, b), device) / 1e9)
    return best_rate


def timed(fn, device: torch.device | str = "cpu") -> float:
    """Wall time of `fn()` in seconds, with `device`'s queue drained before and after."""
    synchronize(device)
    t0 = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=20)
    p.add_argument("--vocab", type=int, default=5000)
    p.add_argument("--rollouts", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3, help="interleaved repetitions (medians reported)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--variants", default="loop_fp32,batched_fp32",
                   help="comma-separated subset of loop_fp32, batched_fp32, batched_plain_fp32 (mc_rewards scored "
                        "by the plain D.prob_real instead of textgan.fast.cnn), batched_bf16 (bf16 autocast is only "
                        "fast on CPUs with bf16 instructions (AVX512-BF16/AMX) and on GPUs)")
    p.add_argument("--breakdown", action="store_true",
                   help="also time sampling the completions and scoring them, each alone")
    p.add_argument("--allocator-defaults", action="store_true",
                   help="leave glibc's malloc as it is (training calls textgan.fast.cpu_memory.keep_freed_memory())")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    kept = False if args.allocator_defaults else keep_freed_memory()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    g = LSTMGenerator(args.vocab, 32, 32).eval()
    d = CNNDiscriminator(args.vocab).eval()
    score = PrefixSharingScorer(d)  # SeqGAN's rollout reward (method.fast_discriminator=true): D's weights, less work
    seqs = g.sample(args.batch, args.seq_len)
    completions = rollout_completions(g, seqs, args.rollouts)

    def batched_bf16():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mc_rewards(g, score, seqs, args.rollouts)

    @torch.no_grad()
    def scoring():  # what mc_rewards does with the completions
        b, r = args.batch, args.rollouts
        for t, block in enumerate(completions.split(r * b)):
            score(block, prefix_len=t + 1, group=b)

    variants = {
        "loop_fp32": lambda: mc_rewards_loop(g, d.prob_real, seqs, args.rollouts),
        "batched_fp32": lambda: mc_rewards(g, score, seqs, args.rollouts),
        "batched_plain_fp32": lambda: mc_rewards(g, d.prob_real, seqs, args.rollouts),  # the plain D (conv1d)
        "batched_bf16": batched_bf16,
        "sampling_fp32": lambda: rollout_completions(g, seqs, args.rollouts),
        "scoring_fp32": scoring,
    }
    chosen = args.variants.split(",") + (["sampling_fp32", "scoring_fp32"] if args.breakdown else [])
    variants = {k: v for k, v in variants.items() if k in chosen}
    for fn in variants.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {k: [] for k in variants}
    peaks: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            times[name].append(timed(fn))
        peaks["fp32"].append(matmul_peak(torch.float32))
        if "batched_bf16" in variants:
            peaks["bf16"].append(matmul_peak(torch.bfloat16, sizes=(1024,)))

    work = work_gmac(g, d, args.batch, args.seq_len, args.rollouts)
    med = {k: statistics.median(v) for k, v in times.items()}
    peak = {k: max(v) for k, v in peaks.items() if v}
    batched = [k for k in med if k.startswith("batched")]
    result = {
        "setting": {"batch": args.batch, "seq_len": args.seq_len, "vocab": args.vocab, "rollouts": args.rollouts,
                    "threads": args.threads, "repeats": args.repeats, "keep_freed_memory": kept},
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "torch": torch.__version__},
        "median_s": med,
        "work_gmac_per_call": work,
        "matmul_peak_gmac_s": peak,
        "matmul_peak_each_repeat": peaks,
        "fraction_of_peak": {k: work["nominal"] / med[k] / peak[k.split("_")[-1]] for k in batched},
        "fraction_of_peak_discriminator_only": {
            k: work["discriminator_nominal"] / med[k] / peak[k.split("_")[-1]] for k in batched},
        "executed_gmac_s": {k: work["executed"] / med[k] for k in batched},
    }
    if "loop_fp32" in med:
        result["speedup_vs_loop"] = {k: med["loop_fp32"] / med[k] for k in batched}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"mc_rewards benchmark: batch {args.batch}, length {args.seq_len}, vocab {args.vocab}, "
          f"{args.rollouts} rollouts, {args.threads} threads, median of {args.repeats}, "
          f"glibc keeps freed memory: {kept}")
    print(f"nominal work per call: {work['nominal']:.1f} GMAC (discriminator {work['discriminator_nominal']:.1f}, "
          f"generator {work['generator']:.1f}); executed: {work['executed']:.1f} GMAC (shared prefix taps skipped)")
    print("matmul peak here: " + ", ".join(f"{v:.1f} GMAC/s {k}" for k, v in peak.items())
          + " (fp32 per repeat: " + ", ".join(f"{v:.0f}" for v in peaks["fp32"]) + ")")
    for name, t in med.items():
        line = f"  {name:13s} {t:8.2f} s"
        if name in batched and "loop_fp32" in med:
            line += f"   {med['loop_fp32'] / t:5.2f}x faster than the loop"
        if name in batched:
            line += (f"   {100 * result['fraction_of_peak'][name]:4.0f}% of the {name.split('_')[-1]} peak "
                     f"(discriminator work alone: {100 * result['fraction_of_peak_discriminator_only'][name]:.0f}%)")
        print(line)


if __name__ == "__main__":
    main()
