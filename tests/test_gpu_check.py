"""`experiments/gpu_check.py`: the CPU dry run (`--device cpu --tiny`) goes through every part and writes real
measurements, so the GPU check cannot rot between GPU runs; missing packages and a missing GPU are one line."""

import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "gpu_check.py"
METHODS = ("mle", "seqgan", "wgan_gp", "gumbel_gan", "seq2seq", "dialogue_seqgan")


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), WANDB_MODE="disabled")


def _load_module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--device", "cpu", "--tiny"],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((out / "gpu_check.json").read_text()), (out / "gpu_check.md").read_text(), proc.stdout


def test_dry_run_writes_every_part(dry_run):
    report, md, stdout = dry_run
    assert report["tiny"] is True and report["info"]["device"] == "cpu"
    assert report["info"]["torch"] == torch.__version__
    assert {k: v["status"] for k, v in report["parts"].items()} == {p: "pass" for p in
                                                                    ("smoke", "ddp", "rollout", "schedule")}
    assert 0 < report["wall_s"] <= report["budget_s"]
    for title in ("## 1. Smoke runs", "## 2. Monte Carlo rewards", "## 3. SeqGAN's schedule", "## 4. DDP, 1 device"):
        assert title in md
    assert f"torch {torch.__version__}" in md
    assert "Traceback" not in stdout


def test_dry_run_smoke_passes_every_method_in_both_precisions(dry_run):
    report, md, _ = dry_run
    runs = report["parts"]["smoke"]["runs"]
    assert sorted((r["method"], r["precision"]) for r in runs) == sorted(
        (m, p) for m in METHODS for p in ("bf16-mixed", "32-true"))
    for r in runs:
        assert r["status"] == "pass" and r["rc"] == 0, r
        assert r["wall_s"] > 0 and r["process_wall_s"] > r["wall_s"]
        assert r["metric"].startswith("val/") and math.isfinite(r["value"])
        assert f"| {r['method']} | {r['precision']} | pass |" in md


def test_dry_run_rollout_timings_are_consistent(dry_run):
    ro = dry_run[0]["parts"]["rollout"]
    variants = {"loop_fp32", "batched_fp32", "batched_bf16", "compiled_fp32", "compiled_bf16"}
    assert ro["skipped"] == []
    for batch in ro["batches"]:
        rows = {r["variant"]: r for r in ro["rows"] if r["batch"] == batch}
        assert set(rows) == variants
        loop = statistics.median(rows["loop_fp32"]["all_s"])
        work = ro["work_gmac_per_call"][str(batch)]["nominal"]
        for r in rows.values():
            assert len(r["all_s"]) == ro["repeats"] and min(r["all_s"]) > 0 and r["first_call_s"] > 0
            assert r["s_per_call"] == statistics.median(r["all_s"])
            assert r["ratio_to_loop"] == pytest.approx(loop / r["s_per_call"])
            assert r["achieved_tflops"] == pytest.approx(2 * work / r["s_per_call"] / 1e3)
            assert r["fraction_of_card_peak"] is None  # no data-sheet peak for a CPU
    assert all(v > 0 for v in ro["measured_matmul_tflops"].values())
    assert set(ro["fast_path_choices"]["median_s"]) == {"sampler_two_level", "sampler_flat",
                                                        "rollout_step_rows_512", "rollout_step_rows_whole_block"}
    assert all(v > 0 for v in ro["fast_path_choices"]["median_s"].values())


def test_dry_run_schedule_projection_is_table_1(dry_run):
    sc = dry_run[0]["parts"]["schedule"]
    st = sc["setting"]
    assert st["batches_per_epoch"] == -(-st["train_sequences"] // st["batch"])
    for precision in ("fp32", "bf16"):
        u = sc["units"][precision]
        assert all(u[k] > 0 for k in ("d_update_s", "mle_epoch_s", "g_step_s", "pool_s"))
        d_epoch = st["batches_per_epoch"] * u["d_update_s"]
        # 120 MLE epochs + 50 x (pool + 3 D epochs) + 200 x (G step + 5 x (pool + 3 D epochs))
        expected = 120 * u["mle_epoch_s"] + 50 * (u["pool_s"] + 3 * d_epoch) \
            + 200 * (u["g_step_s"] + 5 * (u["pool_s"] + 3 * d_epoch))
        assert sc["projection"][precision]["total_s"] == pytest.approx(expected)
    rows = sc["d_update_variants"]
    assert len(rows) == 6 and all(r["d_update_s"] > 0 for r in rows), rows


def test_dry_run_ddp_used_gloo(dry_run):
    dd = dry_run[0]["parts"]["ddp"]
    assert dd["backend"] == dd["expected_backend"] == "gloo"
    assert dd["rc"] == 0 and math.isfinite(dd["value"])


def test_missing_package_is_one_line_and_skips_its_parts(tmp_path):
    # find_spec reports a module as missing when sys.modules holds None for it: hydra-core "uninstalled"
    code = ("import sys, runpy; sys.modules['hydra'] = None; "
            f"sys.argv = ['gpu_check.py', '--out', {str(tmp_path)!r}, '--device', 'cpu', '--tiny', "
            f"'--parts', 'smoke,ddp']; runpy.run_path({str(SCRIPT)!r}, run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "missing package" in ln]
    assert len(lines) == 1 and "hydra-core" in lines[0] and "smoke, ddp" in lines[0], proc.stdout
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["parts"]["smoke"]["status"] == report["parts"]["ddp"]["status"] == "skipped: missing hydra-core"
    assert "Traceback" not in proc.stdout + proc.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message a machine without CUDA prints")
def test_no_gpu_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    out = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(out) == 1 and "no CUDA device" in out[0] and "--device cpu --tiny" in out[0]


def test_run_command_kills_what_overruns_its_timeout():
    gpu_check = _load_module()
    t0 = time.perf_counter()
    res = gpu_check.run_command([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"],
                                timeout=2)
    assert res["timed_out"] and res["rc"] != 0 and "started" in res["output"]
    assert time.perf_counter() - t0 < 30


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_check_on_cuda(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--tiny"], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["parts"]["ddp"]["backend"] == "nccl"
