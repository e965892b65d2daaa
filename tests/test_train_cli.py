"""The command line: a Hydra multirun writes one dir per job and `textgan.cli.report` summarises it; `main` returns
the optimized metric; bf16-mixed runs on CPU; a config typo is a one-line error with the valid choices."""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys

import pytest
import yaml

from textgan.cli.report import find_jobs, summary_table
from textgan.runs.train import train

from conftest import REPO, compose_config, read_metrics

TINY_SEQGAN = ["experiment=smoke_seqgan", "method.adversarial_rounds=1", "test=false",
               "method.discriminator.filter_sizes=[2,3]", "method.discriminator.num_filters=[8,8]"]


def _env(tmp_path):
    return {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1",
            "TEXTGAN_CACHE": str(tmp_path / "cache")}


@pytest.mark.slow
def test_multirun_one_dir_per_job_and_report(tmp_path):
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, "run.py", "-m", "experiment=smoke_mle", "method.optimizer.lr=0.01,0.002", "seed=1,2",
           "method.epochs=1", "test=false", "num_threads=1", f"hydra.sweep.dir={sweep}"]
    proc = subprocess.run(cmd, cwd=REPO, env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs = sorted((p for p in sweep.iterdir() if p.is_dir()), key=lambda p: int(p.name.split("_")[0]))
    # job dirs are named `<num>_<overrides>` (conf/hydra/default.yaml; num_threads is excluded from the name)
    assert [p.name for p in jobs] == [f"{n}_experiment=smoke_mle,method.epochs=1,method.optimizer.lr={lr},seed={s},"
                                      f"test=False"
                                      for n, (lr, s) in enumerate([(0.01, 1), (0.01, 2), (0.002, 1), (0.002, 2)])]
    overrides = [yaml.safe_load((j / ".hydra" / "overrides.yaml").read_text()) for j in jobs]
    assert {(o[1], o[2]) for o in overrides} == {(f"method.optimizer.lr={lr}", f"seed={s}") for lr in (0.01, 0.002)
                                                  for s in (1, 2)}
    assert all((j / "checkpoints" / "last.ckpt").exists() for j in jobs)
    assert (sweep / "multirun.yaml").exists()
    # the report groups by the swept key (method.optimizer.lr) and averages the two seeds
    table = summary_table(find_jobs(sweep), ["val/nll_oracle"]).splitlines()
    assert table[0] == "| method.optimizer.lr | seeds | val/nll_oracle |"
    assert [row.split(" | ")[:2] for row in table[2:]] == [["| 0.002", "2"], ["| 0.01", "2"]]
    for lr, row in zip(("0.002", "0.01"), table[2:]):
        values = [read_metrics(j)["val/nll_oracle"][-1] for j, o in zip(jobs, overrides) if o[1].endswith(lr)]
        assert f"{sum(values) / 2:.4f} ± " in row


def test_main_returns_optimized_metric_with_bf16(tmp_path):
    spec = importlib.util.spec_from_file_location("textgan_run", REPO / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    cfg = compose_config(["experiment=smoke_mle", "method.epochs=1", "test=false",
                          "trainer.precision=bf16-mixed"], tmp_path)
    value = run.main(cfg)  # Hydra's decorated main passes a given config straight to the task function
    assert value == read_metrics(tmp_path)["val/nll_oracle"][-1] and math.isfinite(value)


def test_seqgan_bf16_mixed_on_cpu(tmp_path):
    train(compose_config([*TINY_SEQGAN, "trainer.precision=bf16-mixed"], tmp_path))
    m = read_metrics(tmp_path)
    assert all(math.isfinite(v) for k in ("train/g_pg_loss", "train/d_loss", "val/nll_oracle") for v in m[k])


@pytest.mark.slow
def test_config_typo_is_a_one_line_error(tmp_path):
    proc = subprocess.run([sys.executable, "run.py", "method=seqgn"], cwd=REPO, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "unknown option of group 'method' (did you mean seqgan?); choose one of:" in proc.stderr
    assert "mle" in proc.stderr and "seqgan" in proc.stderr
