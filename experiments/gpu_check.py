"""textgan's GPU path, checked in one prepared command.

    python experiments/gpu_check.py --out DIR                          # one CUDA card: within the default --budget
    python experiments/gpu_check.py --out DIR --device cpu --tiny      # the same code paths at toy sizes, seconds

Four parts, each in subprocesses with a timeout (a hung kernel, compiler or NCCL rendezvous costs its part, never
the check), inside one overall budget (`--budget`, seconds); they run in the order smoke, ddp, rollout, schedule:

1. `smoke`: every method's smoke preset (`experiment=smoke_<method>`), end to end through `run.py`, with
   `trainer=gpu` (bf16-mixed) and with `trainer.precision=32-true`: pass/fail (exit status 0 and a finite `val/*`
   value in its metrics.csv) and wall time per run (`--jobs` runs at a time).
2. `rollout`: `textgan.rollout.mc_rewards` at SeqGAN's setting (vocabulary 5000, length 20, 16 rollouts, the
   paper's CNN discriminator) at batch 64, 256 and 1024: fp32, bf16 autocast, and with the discriminator under
   `torch.compile` (fp32 and bf16), against the per-prefix reference loop `mc_rewards_loop` on the same card;
   interleaved repetitions, the device synchronised around every timing. Reported: median s/call, ratio to the
   loop, achieved TFLOP/s (nominal work, `bench_rollout.work_gmac`) against the card's peak (`PEAKS`) and against
   the matmul peak measured in the same run.
3. `schedule`: one discriminator update (64 real + 64 generated sequences), one MLE epoch (157 batches of 64,
   SeqGAN's 10,000 oracle sequences), one adversarial G step (64 samples, 16 rollouts, policy gradient) and one
   pool of 10,000 negatives, in fp32 and bf16 autocast; the D update also with fused Adam and with
   `torch.compile(mode="reduce-overhead")` (CUDA graphs), since its kernels are small. From them, SeqGAN's
   Table 1 schedule, 120 + 50 x 3 + 200 x (1 + 5 x 3) units: 120 MLE epochs; 50 D pre-training rounds of 3 D
   epochs; 200 adversarial rounds of 1 G step and 5 x 3 D epochs (a D epoch = 157 D updates); plus the 50 + 200 x 5
   negative pools those rounds draw. Evaluation (NLL-oracle every `eval_every` epochs) is not included.
4. `ddp`: a 1-GPU DDP job (`trainer=ddp trainer.devices=1`, backend nccl; gloo with `--device cpu`).

Writes `DIR/gpu_check.json` and `DIR/gpu_check.md` (one table per part, device name, torch / CUDA versions), and
the log tail of every failed run under `DIR/logs/`. Parts 1 and 4 need Lightning, Hydra and OmegaConf; parts 2 and
3 only torch and textgan. A missing package is named in one line and its parts are skipped; the rest still runs.

`--tiny` (for the test suite, `tests/test_gpu_check.py`): toy sizes everywhere, and `torch.compile` with its
`eager` backend (the same graph capture, no code generation: the path is checked, its timings mean nothing).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]  # textgan and bench_rollout, wherever run from

PARTS = ("smoke", "ddp", "rollout", "schedule")  # run in this order: the cheap pass/fail checks first
# import name -> pip name of what each part needs beyond the standard library
NEEDS = {
    "smoke": {"torch": "torch", "pytorch_lightning": "pytorch-lightning", "hydra": "hydra-core",
              "omegaconf": "omegaconf", "yaml": "pyyaml", "torchmetrics": "torchmetrics"},
    "rollout": {"torch": "torch"},
    "schedule": {"torch": "torch"},
    "ddp": {"torch": "torch", "pytorch_lightning": "pytorch-lightning", "hydra": "hydra-core",
            "omegaconf": "omegaconf", "yaml": "pyyaml", "torchmetrics": "torchmetrics"},
}
# per-part time limits in seconds on a GPU (the overall --budget caps their sum); a CPU gets CPU_SLACK times more
PART_LIMITS = {"smoke": 120, "ddp": 50, "rollout": 170, "schedule": 140}
CPU_SLACK = 3  # the dry run shares small CPUs with other work (CI): generous limits, never a flaky timeout
RUN_LIMIT = 90  # one job of a run.py process
COMPILE_RESERVE_S = 60  # a torch.compile variant starts only with this much of its part's time left

# method -> the data of its smoke run beyond its preset's (conf/experiment/smoke_<method>.yaml); nothing is
# downloaded (oracle and cfg data are generated, the dialogue methods read a pairs file this script writes)
SMOKE_DATA = {
    "mle": [],
    "seqgan": [],
    "wgan_gp": [],
    "gumbel_gan": [],
    "seq2seq": ["data.corpus=file", "data.path={pairs}", "data.root={work}/dialogue"],
    "dialogue_seqgan": ["data.corpus=file", "data.path={pairs}", "data.root={work}/dialogue"],
}
PRECISIONS = ("bf16-mixed", "32-true")
# --tiny runs: every phase still runs, on fewer batches, without the test loop; one thread per process (on a small
# shared CPU, several spinning OpenMP threads per process contend for the cores and stall a toy rollout)
TINY_RUN = ["test=false", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "num_threads=1"]

# Dense (no structured sparsity) peak TFLOP/s from NVIDIA's data sheets: bf16 on tensor cores, fp32 on CUDA
# cores (what PyTorch's float32 matmuls use unless TF32 is allowed; `tf32` listed for reference). Matched by
# substring of torch.cuda.get_device_name(), first match wins.
PEAKS = (
    ("H200 NVL", {"bf16": 835.0, "fp32": 60.0, "tf32": 418.0}),
    ("H200", {"bf16": 989.4, "fp32": 66.9, "tf32": 494.7}),
    ("H100 PCIe", {"bf16": 756.0, "fp32": 51.2, "tf32": 378.0}),
    ("H100 NVL", {"bf16": 835.0, "fp32": 60.0, "tf32": 418.0}),
    ("H100", {"bf16": 989.4, "fp32": 66.9, "tf32": 494.7}),  # SXM5 / HBM3
    ("A100", {"bf16": 312.0, "fp32": 19.5, "tf32": 156.0}),
    ("L40S", {"bf16": 362.1, "fp32": 91.6, "tf32": 183.0}),
    ("L4", {"bf16": 121.0, "fp32": 30.3, "tf32": 60.0}),
)

# Table 1 of SeqGAN (the oracle experiment): schedule and sizes
PAPER = {"vocab": 5000, "seq_len": 20, "rollouts": 16, "batch": 64, "train_sequences": 10_000,
         "g_pretrain_epochs": 120, "d_pretrain_rounds": 50, "adversarial_rounds": 200, "d_steps": 5, "d_epochs": 3}
TINY = {"vocab": 40, "seq_len": 6, "rollouts": 2, "batch": 8, "train_sequences": 64,
        "g_pretrain_epochs": 120, "d_pretrain_rounds": 50, "adversarial_rounds": 200, "d_steps": 5, "d_epochs": 3}
PAPER_CNN: dict = {}  # CNNDiscriminator's defaults are the paper's: windows 1..10, 15, 20; embedding 64
TINY_CNN = {"embed_dim": 8, "filter_sizes": (1, 2, 3), "num_filters": (8, 8, 8)}


def cnn_name(tiny: bool) -> str:
    return f"a toy CNN D {TINY_CNN}" if tiny else "the paper's CNN D"


def say(msg: str) -> None:
    print(f"gpu_check: {msg}", flush=True)


def missing_packages(part: str) -> list[str]:
    return [pip for mod, pip in NEEDS[part].items() if importlib.util.find_spec(mod) is None]


def write_json(path: Path, obj) -> None:
    """Atomic write: a temp file in the same folder, then rename (a killed part leaves its last complete file)."""
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)


def run_command(cmd: list[str], timeout: float, env: dict | None = None, cwd: Path = ROOT) -> dict:
    """Run `cmd` in its own process group; kill the whole group after `timeout` s. Never raises, never hangs."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, text=True, errors="replace")
    try:
        out, _ = proc.communicate(timeout=max(1.0, timeout))
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the run's own children (Lightning's, the compiler's) included
        out, _ = proc.communicate()
        timed_out = True
    return {"rc": proc.returncode, "timed_out": timed_out, "wall_s": time.perf_counter() - t0, "output": out or ""}


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


# ------------------------------------------------------------------------------------------------ device info
def device_info(device: str) -> dict:
    import torch

    info = {"device": device, "torch": torch.__version__, "cuda": torch.version.cuda,
            "python": platform.python_version(), "host": platform.node(), "cpu_cores": os.cpu_count()}
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info.update({"name": torch.cuda.get_device_name(0), "memory_gib": round(props.total_memory / 2**30, 1),
                     "capability": f"{props.major}.{props.minor}", "sm_count": props.multi_processor_count,
                     "cudnn": torch.backends.cudnn.version(),
                     "tf32_matmul": torch.backends.cuda.matmul.allow_tf32, "peak_tflops": peak_for(
                         torch.cuda.get_device_name(0))})
        if shutil.which("nvidia-smi"):
            smi = run_command(["nvidia-smi", "--query-gpu=driver_version,clocks.max.sm,power.limit",
                               "--format=csv,noheader"], timeout=20)
            info["nvidia_smi"] = smi["output"].strip()
    else:
        info.update({"name": platform.processor() or platform.machine(), "peak_tflops": None})
    return info


def peak_for(name: str) -> dict | None:
    return next((dict(p) for key, p in PEAKS if key in name), None)


# ------------------------------------------------------------------------------------------------ part 1 + 4
def smoke_command(method: str, device: str, work: Path, sweep_dir: Path, tiny: bool) -> list[str]:
    """One `run.py -m` process per method: its jobs are the precisions (one import and CUDA start-up per method)."""
    data = [a.format(pairs=work / "pairs.tsv", work=work) for a in SMOKE_DATA[method]]
    cmd = [sys.executable, str(ROOT / "run.py"), "-m", f"experiment=smoke_{method}", *data, "trainer=gpu",
           f"trainer.accelerator={'gpu' if device == 'cuda' else 'cpu'}", f"trainer.precision={','.join(PRECISIONS)}",
           "logger=csv", "callbacks.progress_bar=null", f"hydra.sweep.dir={sweep_dir}",
           "hydra.sweep.subdir=${hydra.job.num}"]
    return cmd + (TINY_RUN if tiny else [])


def job_wall(job_dir: Path) -> float | None:
    """Seconds from a multirun job's start (Hydra writes `.hydra/config.yaml` first) to its last written file."""
    start = job_dir / ".hydra" / "config.yaml"
    files = [f for f in job_dir.rglob("*") if f.is_file() and ".hydra" not in f.parts]
    if not start.exists() or not files:
        return None
    return max(f.stat().st_mtime for f in files) - start.stat().st_mtime


def write_pairs(path: Path, n: int = 160) -> None:
    """A small deterministic dialogue corpus (context<TAB>response), so the dialogue smoke runs need no download."""
    words = "the a cat dog sees runs home now yes no here there good bad".split()
    lines = []
    for i in range(n):
        ctx = " ".join(words[(i * k + 3) % len(words)] for k in range(1, 2 + i % 5))
        rsp = " ".join(words[(i * k + 7) % len(words)] for k in range(2, 3 + i % 4))
        lines.append(f"{ctx}\t{rsp}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def last_val_metric(run_dir: Path) -> tuple[str, float] | None:
    """(name, value) of the last finite `val/*` entry of the run's metrics.csv (the optimized metric first)."""
    path = run_dir / "csv" / "metrics.csv"
    if not path.exists():
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    cols = [c for c in (rows[0].keys() if rows else []) if c.startswith("val/") and c != "val/epoch"]
    cols.sort(key=lambda c: c not in ("val/nll_oracle", "val/nll_test"))
    for col in cols:
        values = [float(r[col]) for r in rows if r.get(col) not in (None, "")]
        if values and math.isfinite(values[-1]):
            return col, values[-1]
    return None


def child_env(work: Path) -> dict:
    env = dict(os.environ, WANDB_MODE="disabled", TEXTGAN_CACHE=str(work / "cache"), PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def part_smoke(args, work: Path, deadline: float) -> dict:
    write_pairs(work / "pairs.tsv")

    def one(method: str) -> list[dict]:
        sweep = work / "smoke" / method
        left = deadline - time.time()
        if left < 5:
            return [{"method": method, "precision": p, "status": "skipped (time budget)"} for p in PRECISIONS]
        res = run_command(smoke_command(method, args.device, work, sweep, args.tiny),
                          min(RUN_LIMIT * len(PRECISIONS) * (1 if args.device == "cuda" else CPU_SLACK), left),
                          child_env(work))
        rows = []
        for num, precision in enumerate(PRECISIONS):  # Hydra's basic launcher runs the jobs in this order
            job = sweep / str(num)
            # a job completed when the process ended cleanly or the next job started
            completed = res["rc"] == 0 or (sweep / str(num + 1)).exists()
            metric = last_val_metric(job) if completed else None
            ok = metric is not None
            rows.append({"method": method, "precision": precision, "status": "pass" if ok else "FAIL",
                         "wall_s": job_wall(job) if job.exists() else None, "process_wall_s": round(res["wall_s"], 2),
                         "rc": res["rc"], "timed_out": res["timed_out"],
                         "metric": metric[0] if metric else None, "value": metric[1] if metric else None})
        if not all(r["status"] == "pass" for r in rows):
            log = args.out / "logs" / f"smoke_{method}.log"
            log.write_text(tail(res["output"], 80))
            for r in rows:
                if r["status"] != "pass":
                    r["log"], r["error"] = str(log.relative_to(args.out)), _last_error(res["output"])
        return rows

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = [r for method_rows in pool.map(one, SMOKE_DATA) for r in method_rows]
    return {"processes_at_a_time": args.jobs, "runs": rows,
            "passed": sum(r["status"] == "pass" for r in rows), "total": len(rows)}


def _last_error(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower() or "Error" in ln]
    return (errors or lines or ["(no output)"])[-1][-300:]


def part_ddp(args, work: Path, deadline: float) -> dict:
    run_dir = work / "ddp"
    cmd = [sys.executable, str(ROOT / "run.py"), "experiment=smoke_mle", "trainer=ddp",
           "trainer.devices=1", f"trainer.accelerator={'gpu' if args.device == 'cuda' else 'cpu'}", "logger=csv",
           "callbacks.progress_bar=null", f"hydra.run.dir={run_dir}"]
    if args.tiny:
        cmd += TINY_RUN
    res = run_command(cmd, deadline - time.time(), child_env(work))
    backend = next((ln.split("=", 1)[1].strip() for ln in res["output"].splitlines()
                    if ln.strip().startswith("distributed_backend=")), None)
    expected = "nccl" if args.device == "cuda" else "gloo"
    metric = last_val_metric(run_dir)
    ok = res["rc"] == 0 and backend == expected and metric is not None
    row = {"status": "pass" if ok else "FAIL", "backend": backend, "expected_backend": expected,
           "wall_s": round(res["wall_s"], 2), "rc": res["rc"], "timed_out": res["timed_out"],
           "metric": metric[0] if metric else None, "value": metric[1] if metric else None}
    if not ok:
        (args.out / "logs" / "ddp.log").write_text(tail(res["output"], 80))
        row["log"], row["error"] = "logs/ddp.log", _last_error(res["output"])
    return row


# ------------------------------------------------------------------------------------------------ part 2
def part_rollout(args, record) -> None:
    """Child process: mc_rewards timings. `record(result)` saves what is measured so far."""
    import torch
    from bench_rollout import matmul_peak, timed, work_gmac

    from textgan.fast.cnn import PrefixSharingScorer
    from textgan.models.cnn import CNNDiscriminator
    from textgan.models.lstm import LSTMGenerator
    from textgan.rollout import mc_rewards, mc_rewards_loop

    s, dev = (TINY if args.tiny else PAPER), torch.device(args.device)
    batches = (4, 8) if args.tiny else (64, 256, 1024)
    repeats = 2 if args.tiny else 3
    torch.manual_seed(0)
    g = LSTMGenerator(s["vocab"], 32, 32).to(dev).eval()
    d = CNNDiscriminator(s["vocab"], **(TINY_CNN if args.tiny else PAPER_CNN)).to(dev).eval()
    score = PrefixSharingScorer(d)  # SeqGAN's rollout reward (method.fast_discriminator=true)
    backend = "eager" if args.tiny else "inductor"
    compiled_score = torch.compile(d.prob_real, backend=backend, dynamic=True)  # one graph for every row count

    def score_compiled(tokens):  # not marked @shares_prefix: compiled over fixed-size chunks of whole rows
        return compiled_score(tokens)

    def autocast(fn):
        def run():
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                return fn()
        return run

    result = {"setting": {k: s[k] for k in ("vocab", "seq_len", "rollouts")} | {"cnn": cnn_name(args.tiny)},
              "batches": list(batches),
              "repeats": repeats, "compile_backend": backend, "rows": [], "skipped": []}
    peaks = {"fp32": matmul_peak(torch.float32, device=dev, sizes=(512,) if args.tiny else (4096, 8192)),
             "bf16": matmul_peak(torch.bfloat16, device=dev, sizes=(512,) if args.tiny else (4096, 8192))}
    result["measured_matmul_tflops"] = {k: 2 * v / 1e3 for k, v in peaks.items()}
    record(result)
    for batch in batches:
        if time.time() > args.deadline - 20:
            result["skipped"].append(f"batch {batch}: time budget")
            break
        seqs = g.sample(batch, s["seq_len"])
        work = work_gmac(g, d, batch, s["seq_len"], s["rollouts"])
        r = s["rollouts"]
        variants = {
            "loop_fp32": partial(mc_rewards_loop, g, d.prob_real, seqs, r),
            "batched_fp32": partial(mc_rewards, g, score, seqs, r),
            "batched_bf16": autocast(partial(mc_rewards, g, score, seqs, r)),
            "compiled_fp32": partial(mc_rewards, g, score_compiled, seqs, r),
            "compiled_bf16": autocast(partial(mc_rewards, g, score_compiled, seqs, r)),
        }
        first = {}
        for name, fn in list(variants.items()):  # warm-up (and compilation) once, outside the timings
            if name.startswith("compiled") and time.time() > args.deadline - COMPILE_RESERVE_S:
                result["skipped"].append(f"batch {batch} {name}: time budget (compilation)")
                del variants[name]
                continue
            try:
                first[name] = timed(fn, dev)
            except Exception as ex:  # no compiler on this machine, an unsupported op: a note, not a crash
                result["skipped"].append(f"batch {batch} {name}: {type(ex).__name__}: {str(ex)[:200]}")
                del variants[name]
        times = {k: [] for k in variants}
        for _ in range(repeats):  # interleaved: a slow moment of the machine hits every variant alike
            for name, fn in variants.items():
                times[name].append(timed(fn, dev))
        loop = statistics.median(times["loop_fp32"])
        for name, ts in times.items():
            med, dtype = statistics.median(ts), name.split("_")[1]
            tflops = 2 * work["nominal"] / med / 1e3
            table_peak = (args.peak or {}).get(dtype)
            result["rows"].append({
                "batch": batch, "variant": name, "s_per_call": med, "first_call_s": first[name],
                "ratio_to_loop": loop / med, "achieved_tflops": tflops,
                "fraction_of_card_peak": tflops / table_peak if table_peak else None,
                "fraction_of_measured_matmul": tflops / result["measured_matmul_tflops"][dtype],
                "all_s": ts})
        result["work_gmac_per_call"] = result.get("work_gmac_per_call", {}) | {str(batch): work}
        record(result)
    # the two samplers and the two slicings the CPU-tuned paths choose between, on this device
    from textgan.fast.sampling import two_level_inverse_cdf
    from textgan.rollout import CPU_STEP_ROWS
    from textgan.sampling import _flat_inverse_cdf

    probs = torch.softmax(torch.randn(s["rollouts"] * max(batches), s["vocab"], device=dev), dim=-1)
    seqs = g.sample(max(batches), s["seq_len"])
    alternatives = {
        "sampler_two_level": partial(two_level_inverse_cdf, probs, 1),
        "sampler_flat": partial(_flat_inverse_cdf, probs, 1),
        f"rollout_step_rows_{CPU_STEP_ROWS}": partial(mc_rewards, g, score, seqs, s["rollouts"],
                                                      step_rows=CPU_STEP_ROWS),
        "rollout_step_rows_whole_block": partial(mc_rewards, g, score, seqs, s["rollouts"],
                                                 step_rows=s["rollouts"] * max(batches)),
    }
    for fn in alternatives.values():
        fn()
    alt_times = {k: [] for k in alternatives}
    for _ in range(repeats):
        for name, fn in alternatives.items():
            alt_times[name].append(timed(fn, dev))
    result["fast_path_choices"] = {"rows": int(probs.shape[0]), "batch": max(batches),
                                   "median_s": {k: statistics.median(v) for k, v in alt_times.items()}}
    record(result)


# ------------------------------------------------------------------------------------------------ part 3
def part_schedule(args, record) -> None:
    """Child process: one D update, one MLE epoch, one G step, one negative pool; the Table 1 projection."""
    import torch
    from bench_rollout import synchronize, timed

    from textgan.fast.cnn import PrefixSharingScorer
    from textgan.losses import discriminator_loss, mle_loss, policy_gradient_loss
    from textgan.models.cnn import CNNDiscriminator
    from textgan.models.lstm import LSTMGenerator
    from textgan.rollout import mc_rewards

    s, dev = (TINY if args.tiny else PAPER), torch.device(args.device)
    b, t_len, v = s["batch"], s["seq_len"], s["vocab"]
    batches_per_epoch = -(-s["train_sequences"] // b)
    torch.manual_seed(0)
    g = LSTMGenerator(v, 32, 32).to(dev)
    d = CNNDiscriminator(v, **(TINY_CNN if args.tiny else PAPER_CNN)).to(dev)
    g_opt = torch.optim.Adam(g.parameters(), lr=0.01)
    real = torch.randint(0, v, (b, t_len), device=dev)
    fake = torch.randint(0, v, (b, t_len), device=dev)
    data = torch.randint(0, v, (batches_per_epoch, b, t_len), device=dev)
    backend = "eager" if args.tiny else "inductor"
    precisions = {"fp32": None, "bf16": torch.bfloat16}

    def in_precision(dtype, fn, *fn_args):
        if dtype is None:
            return fn(*fn_args)
        with torch.autocast(dev.type, dtype=dtype):
            return fn(*fn_args)

    def median_time(fn, repeats):
        return statistics.median(timed(fn, dev) for _ in range(repeats))

    # the bodies of SeqGAN's steps (textgan/methods/seqgan.py, base.py) on plain torch, without Lightning
    def d_update(disc, opt):  # SeqGAN.discriminator_update: one update, no gradient clipping
        if disc is not d and dev.type == "cuda":
            torch.compiler.cudagraph_mark_step_begin()  # a new training step for the CUDA graphs' output buffers
        loss = discriminator_loss(disc(real), disc(fake)) + d.l2_penalty()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def mle_epoch():  # TextGANModule.mle_step over one epoch (no padding in the oracle data: no mask)
        for tokens in data:
            loss = mle_loss(g(tokens), tokens)
            g_opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(g.parameters(), 5.0)
            g_opt.step()

    def g_step():  # SeqGAN.adversarial_generator_step
        samples = g.sample(b, t_len)
        d.eval()
        rewards = mc_rewards(g, PrefixSharingScorer(d), samples, s["rollouts"])
        d.train()
        loss = policy_gradient_loss(g.log_probs(samples), rewards)
        g_opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(g.parameters(), 5.0)
        g_opt.step()

    def pool():  # TextGANModule.generate: the negatives of one D epoch set, in chunks of 2048
        with torch.no_grad():
            torch.cat([g.sample(min(2048, s["train_sequences"] - i), t_len)
                       for i in range(0, s["train_sequences"], 2048)])

    result = {"setting": {**s, "batches_per_epoch": batches_per_epoch, "cnn": cnn_name(args.tiny)},
              "compile_backend": backend,
              "units": {}, "d_update_variants": [], "projection": {}}
    record(result)
    d_repeats = 20 if args.tiny else 100
    for pname, dtype in precisions.items():
        units = {}
        update = partial(in_precision, dtype, d_update, d, torch.optim.Adam(d.parameters(), lr=1e-4))
        for _ in range(3):
            update()  # warm-up
        units["d_update_s"] = median_time(update, d_repeats)
        in_precision(dtype, g_step)
        units["g_step_s"] = median_time(partial(in_precision, dtype, g_step), 3)
        in_precision(dtype, pool)
        units["pool_s"] = median_time(partial(in_precision, dtype, pool), 3)
        # the better of two epochs (the first includes warm-up)
        units["mle_epoch_s"] = min(timed(partial(in_precision, dtype, mle_epoch), dev) for _ in range(2))
        units["d_epoch_s"] = batches_per_epoch * units["d_update_s"]
        result["units"][pname] = units
        result["projection"][pname] = project(s, units)
        record(result)

    # the D update's kernels are small: launch overhead against fused Adam and CUDA graphs
    variants = {"eager, Adam (foreach)": (d, {}), "eager, Adam (fused)": (d, {"fused": True})}
    compiled = torch.compile(d, mode=None if args.tiny else "reduce-overhead", backend=backend)
    label = "torch.compile(backend='eager')" if args.tiny else "torch.compile(mode='reduce-overhead')"
    variants[f"{label}, Adam (fused)"] = (compiled, {"fused": True})
    for pname, dtype in precisions.items():
        for vname, (disc, opt_kw) in variants.items():
            reserve = COMPILE_RESERVE_S if disc is compiled else 10
            if time.time() > args.deadline - reserve:
                result.setdefault("skipped", []).append(f"{vname} {pname}: time budget")
                continue
            try:
                opt = torch.optim.Adam(d.parameters(), lr=1e-4, **opt_kw)
                update = partial(in_precision, dtype, d_update, disc, opt)
                t0 = time.perf_counter()
                for _ in range(3):
                    update()  # compilation and CUDA-graph capture happen here
                synchronize(dev)
                warm = time.perf_counter() - t0
                med = median_time(update, d_repeats)
                row = {"precision": pname, "variant": vname, "d_update_s": med, "warm_up_s": warm,
                       "d_epoch_s": batches_per_epoch * med}
            except Exception as ex:  # e.g. fused Adam or a compiler missing on this device: a row, not a crash
                row = {"precision": pname, "variant": vname, "error": f"{type(ex).__name__}: {str(ex)[:200]}"}
            result["d_update_variants"].append(row)
            record(result)


def project(s: dict, u: dict) -> dict:
    """Table 1's schedule from the measured units, in seconds per phase (see the module docstring)."""
    d_epoch = u["d_epoch_s"]
    g_pre = s["g_pretrain_epochs"] * u["mle_epoch_s"]
    d_pre = s["d_pretrain_rounds"] * (u["pool_s"] + s["d_epochs"] * d_epoch)
    adv = s["adversarial_rounds"] * (u["g_step_s"] + s["d_steps"] * (u["pool_s"] + s["d_epochs"] * d_epoch))
    return {"g_pretrain_s": g_pre, "d_pretrain_s": d_pre, "adversarial_s": adv, "total_s": g_pre + d_pre + adv,
            "total_h": (g_pre + d_pre + adv) / 3600}


# ------------------------------------------------------------------------------------------------ driver
def run_child(args) -> int:
    """`--child PART`: measure one part, saving what is measured so far after every step."""
    out = args.out / "parts" / f"{args.child}.json"

    def record(result):
        write_json(out, result)

    args.peak = json.loads(args.peak_json) if args.peak_json else None
    if args.tiny:
        import torch

        torch.set_num_threads(1)  # see TINY_RUN
    {"rollout": part_rollout, "schedule": part_schedule}[args.child](args, record)
    return 0


def run_part_in_child(args, part: str, deadline: float) -> dict:
    limit = deadline - time.time()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", part, "--out", str(args.out),
           "--device", args.device, "--deadline", str(deadline), "--peak-json", json.dumps(args.peak or {})]
    if args.tiny:
        cmd.append("--tiny")
    res = run_command(cmd, limit, child_env(args.work))
    path = args.out / "parts" / f"{part}.json"
    result = json.loads(path.read_text()) if path.exists() else {}
    result["status"] = "pass" if res["rc"] == 0 else ("timeout (partial results)" if res["timed_out"] else "FAIL")
    result["wall_s"] = round(res["wall_s"], 2)
    if res["rc"] != 0:
        (args.out / "logs" / f"{part}.log").write_text(tail(res["output"], 80))
        result["log"], result["error"] = f"logs/{part}.log", _last_error(res["output"])
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for gpu_check.json / gpu_check.md")
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--tiny", action="store_true", help="toy sizes: the code paths in seconds (the test suite)")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--jobs", type=int, default=None,
                   help="smoke processes (one per method) at a time (default: 3 on cuda, 2 on cpu)")
    p.add_argument("--budget", type=float, default=None,
                   help=f"seconds for the whole check (default 450 on cuda, {CPU_SLACK} x 450 on cpu)")
    p.add_argument("--child", choices=("rollout", "schedule"), help=argparse.SUPPRESS)
    p.add_argument("--deadline", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--peak-json", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.out = args.out.resolve()
    if args.child:
        return run_child(args)

    parts = [x for x in args.parts.split(",") if x]
    unknown = [x for x in parts if x not in PARTS]
    if unknown:
        say(f"error: unknown part {', '.join(unknown)}; choose from {', '.join(PARTS)}")
        return 2
    if importlib.util.find_spec("torch") is None:
        say("error: missing package torch (pip install torch); nothing can be checked without it")
        return 2
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        say(f"error: no CUDA device visible to torch {torch.__version__} (CUDA build: {torch.version.cuda}); "
            "run on a GPU machine, or use --device cpu --tiny for the dry run")
        return 2
    missing = {part: missing_packages(part) for part in parts}
    lacking = sorted({pkg for pkgs in missing.values() for pkg in pkgs})
    if lacking:
        skipped = [part for part in parts if missing[part]]
        say(f"missing package{'s' if len(lacking) > 1 else ''} {', '.join(lacking)}: skipping part(s) "
            f"{', '.join(skipped)} (pip install {' '.join(lacking)}, or carry their wheels to this machine)")
    args.jobs = args.jobs or (3 if args.device == "cuda" else 2)
    (args.out / "logs").mkdir(parents=True, exist_ok=True)
    (args.out / "parts").mkdir(parents=True, exist_ok=True)
    args.work = Path(tempfile.mkdtemp(prefix="gpu_check_"))  # run dirs and checkpoints: not brought back
    slack = 1 if args.device == "cuda" else CPU_SLACK
    args.budget = args.budget or 450.0 * slack
    start = time.time()
    end = start + args.budget
    info = device_info(args.device)
    args.peak = info.get("peak_tflops")
    report = {"info": info, "tiny": args.tiny, "budget_s": args.budget,
              "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(start)), "parts": {}}
    try:
        for part in parts:
            if missing[part]:
                report["parts"][part] = {"status": f"skipped: missing {', '.join(missing[part])}"}
                continue
            deadline = min(end, time.time() + PART_LIMITS[part] * slack)
            if deadline - time.time() < 10:
                report["parts"][part] = {"status": "skipped: time budget"}
                continue
            say(f"part {part} ...")
            if part == "smoke":
                t0 = time.perf_counter()
                result = part_smoke(args, args.work, deadline)
                result["status"] = "pass" if result["passed"] == result["total"] else "FAIL"
                result["wall_s"] = round(time.perf_counter() - t0, 2)
            elif part == "ddp":
                result = part_ddp(args, args.work, deadline)
            else:
                result = run_part_in_child(args, part, deadline)
            report["parts"][part] = result
            say(f"part {part}: {result['status']} ({result.get('wall_s', 0):.0f} s)")
    finally:
        report["wall_s"] = round(time.time() - start, 2)
        write_json(args.out / "gpu_check.json", report)
        md = args.out / "gpu_check.md"
        md.with_suffix(".md.part").write_text(markdown(report))
        os.replace(md.with_suffix(".md.part"), md)
        shutil.rmtree(args.work, ignore_errors=True)
    say(f"wrote {args.out / 'gpu_check.md'} and gpu_check.json in {report['wall_s']:.0f} s")
    failed = [k for k, v in report["parts"].items() if not str(v.get("status", "")).startswith(("pass", "skipped"))]
    return 1 if failed else 0


# ------------------------------------------------------------------------------------------------ markdown
def _f(x, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def _table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header),
            *("| " + " | ".join(_f(c) for c in r) + " |" for r in rows), ""]


def markdown(report: dict) -> str:
    info, parts = report["info"], report["parts"]
    lines = [f"# gpu_check: {info.get('name')}{' (--tiny: toy sizes, timings mean nothing)' if report['tiny'] else ''}",
             "", f"Started {report['started']}, {report['wall_s']:.0f} s in all (budget {report['budget_s']:.0f} s). "
             f"torch {info['torch']}, CUDA {info.get('cuda')}, cuDNN {info.get('cudnn', '-')}, "
             f"Python {info['python']}, {info['cpu_cores']} CPU cores."]
    if info.get("nvidia_smi"):
        lines.append(f"nvidia-smi (driver, max SM clock, power limit): {info['nvidia_smi']}.")
    peak = info.get("peak_tflops")
    lines += ["", "Card peak used for the fractions (dense TFLOP/s, data sheet): "
              + (", ".join(f"{k} {v:g}" for k, v in peak.items()) if peak else "none known for this device") + ".",
              f"Peak table: {'; '.join(f'{k}: ' + ', '.join(f'{a} {b:g}' for a, b in p.items()) for k, p in PEAKS)}.",
              ""]
    if "smoke" in parts:
        sm = parts["smoke"]
        lines += [f"## 1. Smoke runs (`experiment=smoke_<method>`): {sm['status']}", ""]
        if "runs" in sm:
            lines += [f"{sm['passed']}/{sm['total']} passed in {sm['wall_s']:.0f} s; one `run.py -m` process per "
                      f"method (its jobs: the precisions), {sm['processes_at_a_time']} processes at a time. Job wall "
                      "time: from the job's start to its last written file (start-up of the process not included).",
                      ""]
            lines += _table(["method", "precision", "result", "job wall s", "last val metric", "value"],
                            [[r["method"], r["precision"], r["status"] + (f" ({r.get('error')})" if r.get("error")
                                                                        else ""),
                              r.get("wall_s"), r.get("metric"), r.get("value")] for r in sm["runs"]])
    if "rollout" in parts:
        ro = parts["rollout"]
        lines += [f"## 2. Monte Carlo rewards (`mc_rewards`): {ro['status']}", ""]
        if ro.get("rows"):
            st = ro["setting"]
            lines += [f"Vocabulary {st['vocab']}, length {st['seq_len']}, {st['rollouts']} rollouts, {st['cnn']}; "
                      f"median of {ro['repeats']} interleaved calls, synchronised. Matmul measured here: "
                      + ", ".join(f"{k} {v:.1f} TFLOP/s" for k, v in ro["measured_matmul_tflops"].items())
                      + f". compile: backend {ro['compile_backend']}, on D's scoring.", ""]
            lines += _table(["batch", "variant", "s/call", "x loop", "TFLOP/s", "of card peak", "of matmul",
                             "first call s"],
                            [[r["batch"], r["variant"], r["s_per_call"], r["ratio_to_loop"], r["achieved_tflops"],
                              r["fraction_of_card_peak"], r["fraction_of_measured_matmul"], r["first_call_s"]]
                             for r in ro["rows"]])
        if ro.get("fast_path_choices"):
            fp = ro["fast_path_choices"]
            lines += [f"CPU-tuned paths on this device ({fp['rows']} sampler rows; rollouts at batch {fp['batch']}):",
                      ""]
            lines += _table(["path", "median s"], [[k, v] for k, v in fp["median_s"].items()])
        lines += _problems(ro)
    if "schedule" in parts:
        sc = parts["schedule"]
        lines += [f"## 3. SeqGAN's schedule (Table 1): {sc['status']}", ""]
        if sc.get("units"):
            st = sc["setting"]
            lines += [f"Units at batch {st['batch']}, vocabulary {st['vocab']}, length {st['seq_len']}, {st['cnn']}, "
                      f"{st['train_sequences']} training sequences ({st['batches_per_epoch']} batches per epoch). "
                      "Projection: 120 MLE epochs + 50 x (pool + 3 D epochs) + 200 x (G step + 5 x (pool + 3 D "
                      "epochs)), i.e. 120 + 50 x 3 + 200 x (1 + 5 x 3) units plus 1,050 pools of negatives; "
                      "evaluation not included.", ""]
            rows = [[k, u["d_update_s"], u["d_epoch_s"], u["mle_epoch_s"], u["g_step_s"], u["pool_s"],
                     sc["projection"][k]["total_h"]] for k, u in sc["units"].items()]
            lines += _table(["precision", "D update s", "D epoch s", "MLE epoch s", "G step s", "pool s",
                             "Table 1 schedule h"], rows)
        if sc.get("d_update_variants"):
            lines += ["D update: launch overhead (small kernels)", ""]
            lines += _table(["precision", "variant", "D update s", "D epoch s", "warm-up s (3 updates)"],
                            [[r["precision"], r["variant"], r.get("d_update_s", r.get("error")), r.get("d_epoch_s"),
                              r.get("warm_up_s")] for r in sc["d_update_variants"]])
        lines += _problems(sc)
    if "ddp" in parts:
        dd = parts["ddp"]
        lines += [f"## 4. DDP, 1 device: {dd['status']}", ""]
        if "backend" in dd:
            lines += _table(["backend", "expected", "wall s", "last val metric", "value"],
                            [[dd["backend"], dd["expected_backend"], dd["wall_s"], dd["metric"], dd["value"]]])
        lines += _problems(dd)
    return "\n".join(lines) + "\n"


def _problems(part: dict) -> list[str]:
    notes = [f"- {s}" for s in part.get("skipped", [])]
    if part.get("error"):
        notes.append(f"- error: {part['error']} (log: {part.get('log')})")
    return [*notes, ""] if notes else []


if __name__ == "__main__":
    sys.exit(main())
