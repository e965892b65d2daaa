"""Benchmark: RelGAN's adversarial step and MLE epoch at the authors' oracle size, fp32 and bf16 autocast, in one
process, interleaved (fp32, bf16, fp32, ...), on the same weights.

The setting is the authors' oracle run: batch 64, length 20, vocabulary 5,000; the generator a relational memory
of 1 slot and 2 heads of 256 over embeddings of 32 (`textgan.models.rmc.RMCGenerator`), the discriminator 64
representations of a 64-dim embedding with 300 filters of each width 2-5 (`textgan.models.relgan_discriminator`).
What is timed is what `textgan.methods.relgan.RelGAN` runs, each update with backward, gradient clipping to norm 5
and an Adam step:

    adversarial step   1 G update (relaxed samples, RSGAN loss against a real batch) + 5 D updates
    MLE epoch          ceil(num_train / batch) teacher-forced updates (10,000 sequences: 157), timed over
                       `--mle-batches` of them and scaled to the epoch

bf16 runs under `torch.autocast(device, dtype=torch.bfloat16)`; an operation this CPU has no bf16 kernel for is
caught and reported in place of a time. The report gives medians, the bf16 / fp32 ratio, the threads and the
load average at the start (the timings of a shared machine depend on it).

    python experiments/bench_relgan.py                  # table
    python experiments/bench_relgan.py --json --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import time

import torch

from textgan.fast.cpu_memory import keep_freed_memory
from textgan.losses import mle_loss, rsgan_discriminator_loss, rsgan_generator_loss
from textgan.models.relgan_discriminator import RelGANDiscriminator
from textgan.models.rmc import RMCGenerator


def clipped_update(opt: torch.optim.Optimizer, loss: torch.Tensor, params: list[torch.nn.Parameter]) -> None:
    """zero_grad -> backward -> clip to norm 5 -> step (the method's `optimizer_step_with_clip`)."""
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 5.0)
    opt.step()


class Setting:
    """The networks, their optimisers and a random real data set of the benchmark."""

    def __init__(self, args: argparse.Namespace, device: torch.device):
        torch.manual_seed(0)
        self.args, self.device = args, device
        self.g = RMCGenerator(args.vocab).to(device)
        self.d = RelGANDiscriminator(args.vocab).to(device)
        self.g_opt = torch.optim.Adam(self.g.parameters(), lr=1e-4)
        self.d_opt = torch.optim.Adam(self.d.parameters(), lr=1e-4)
        self.mle_opt = torch.optim.Adam(self.g.parameters(), lr=1e-2)
        self.real = torch.randint(0, args.vocab, (args.num_train, args.seq_len), device=device)

    def batch(self) -> torch.Tensor:
        return self.real[torch.randint(0, len(self.real), (self.args.batch,), device=self.device)]

    def adversarial_step(self, beta: float = 10.0) -> None:
        b, t = self.args.batch, self.args.seq_len
        self.d.requires_grad_(False)
        real = self.batch()
        _, fake = self.g.relaxed_sample(b, t, beta)
        clipped_update(self.g_opt, rsgan_generator_loss(self.d(real), self.d(fake)), list(self.g.parameters()))
        self.d.requires_grad_(True)
        for _ in range(self.args.d_steps):
            real = self.batch()
            with torch.no_grad():
                _, fake = self.g.relaxed_sample(b, t, beta)
            clipped_update(self.d_opt, rsgan_discriminator_loss(self.d(real), self.d(fake)),
                           list(self.d.parameters()))

    def mle_batches(self) -> None:
        for _ in range(self.args.mle_batches):
            x = self.batch()
            clipped_update(self.mle_opt, mle_loss(self.g(x), x), list(self.g.parameters()))


def timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=20)
    p.add_argument("--vocab", type=int, default=5000)
    p.add_argument("--num-train", type=int, default=10_000)
    p.add_argument("--d-steps", type=int, default=5)
    p.add_argument("--mle-batches", type=int, default=5, help="MLE updates timed per repetition")
    p.add_argument("--repeats", type=int, default=3, help="interleaved repetitions (medians reported)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--variants", default="fp32,bf16", help="comma-separated: fp32, bf16")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    kept = keep_freed_memory() if args.device == "cpu" else False
    device = torch.device(args.device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    setting = Setting(args, device)
    batches_per_epoch = math.ceil(args.num_train / args.batch)

    def under(dtype):
        def run(fn):
            if dtype is None:
                return fn()
            with torch.autocast(device.type, dtype=dtype):
                return fn()
        return run

    variants = {name: run for name, run in (("fp32", under(None)), ("bf16", under(torch.bfloat16)))
                if name in args.variants.split(",")}
    times: dict[str, dict[str, list[float]]] = {v: {"adversarial_step": [], "mle_batch": []} for v in variants}
    errors: dict[str, str] = {}
    for run in variants.values():  # warm-up: first calls allocate and pick kernels
        try:
            run(setting.adversarial_step)
        except Exception:  # reported below, where it is timed
            pass
    for _ in range(args.repeats):
        for name, run in variants.items():
            if name in errors:
                continue
            try:
                times[name]["adversarial_step"].append(timed(functools.partial(run, setting.adversarial_step), device))
                mle = timed(functools.partial(run, setting.mle_batches), device)
                times[name]["mle_batch"].append(mle / args.mle_batches)
            except Exception as ex:  # e.g. an operation without a bf16 kernel on this CPU
                errors[name] = f"{type(ex).__name__}: {str(ex).splitlines()[0][:200]}"
    result = {
        "setting": {"batch": args.batch, "seq_len": args.seq_len, "vocab": args.vocab, "d_steps": args.d_steps,
                    "batches_per_mle_epoch": batches_per_epoch, "threads": args.threads, "repeats": args.repeats,
                    "device": str(device), "cpu": platform.processor() or platform.machine(),
                    "load_average_1min": load, "keep_freed_memory": kept, "torch": torch.__version__},
        "seconds": {}, "errors": errors,
    }
    for name in variants:
        if times[name]["adversarial_step"] and name not in errors:
            step = statistics.median(times[name]["adversarial_step"])
            epoch = statistics.median(times[name]["mle_batch"]) * batches_per_epoch
            result["seconds"][name] = {"adversarial_step": step, "mle_epoch": epoch}
    if "fp32" in result["seconds"] and "bf16" in result["seconds"]:
        f, b = result["seconds"]["fp32"], result["seconds"]["bf16"]
        result["bf16_over_fp32"] = {k: b[k] / f[k] for k in f}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    s = result["setting"]
    print(f"RelGAN, batch {s['batch']}, length {s['seq_len']}, vocabulary {s['vocab']}, 1 G + {s['d_steps']} D "
          f"updates per adversarial step; {s['device']} ({s['cpu']}), {s['threads']} threads, load average "
          f"{load:.2f}, medians of {s['repeats']}")
    print("| precision | adversarial step (s) | MLE epoch (s) |")
    print("| --- | --- | --- |")
    for name, sec in result["seconds"].items():
        print(f"| {name} | {sec['adversarial_step']:.3f} | {sec['mle_epoch']:.1f} |")
    if "bf16_over_fp32" in result:
        r = result["bf16_over_fp32"]
        print(f"| bf16 / fp32 | {r['adversarial_step']:.2f} | {r['mle_epoch']:.2f} |")
    for name, err in errors.items():
        print(f"{name}: not measured ({err})")


if __name__ == "__main__":
    main()
