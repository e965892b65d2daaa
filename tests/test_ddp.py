"""Data-parallel on CPU: 2 gloo processes (Lightning re-launches run.py) log the same evaluation metrics as a
single process on the same data and weights.

MLE with lr=0 keeps the weights at their seeded initialisation, so the two runs evaluate the same model:
- `test/nll_test` is computed from held-out data split across the ranks (DistributedSampler) and all-gathered:
  it must equal the single-process value up to float reduction order;
- `test/nll_oracle` sums over each rank's share of `num_eval_samples` samples (ranks seeded apart; the metric
  object's states are summed): it must agree within sampling noise (2,048 samples x 10 tokens: standard error
  ~0.01 nat). `tests/test_metric_objects.py` checks the reduction itself on fixed samples.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO, read_metrics

COMMON = ["experiment=smoke_mle", "method.optimizer.lr=0.0", "method.epochs=1", "method.num_eval_samples=2048",
          "num_threads=1", "logger=csv", "seed=11"]


@pytest.mark.slow
def test_two_process_ddp_metrics_equal_single_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1",
           "TEXTGAN_CACHE": str(tmp_path / "cache")}
    runs = {"single": [], "ddp": ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2"]}
    metrics = {}
    for name, extra in runs.items():
        out = tmp_path / name
        cmd = [sys.executable, "run.py", *COMMON, *extra, f"hydra.run.dir={out}"]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        metrics[name] = read_metrics(out)
    single, ddp = metrics["single"], metrics["ddp"]
    # each rank saw half of the 128 training sequences: 2 batches of 32 instead of 4
    assert max(ddp["step"]) < max(single["step"])
    assert ddp["test/nll_test"][-1] == pytest.approx(single["test/nll_test"][-1], abs=1e-5)
    assert ddp["test/nll_oracle"][-1] == pytest.approx(single["test/nll_oracle"][-1], abs=0.08)
