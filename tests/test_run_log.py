"""What a run writes for a researcher to read: through the real CLI, `run.log` holds
textgan's and Lightning's messages and the resolved config tree; no spurious "Checkpoint directory … not empty"
warning; the logged hyper-parameters are the run config once (no method arguments repeated at the top level);
TensorBoard has no stuck `hp_metric`."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
import pytorch_lightning as pl
import yaml

from textgan.runs.run_log import route_library_logs

from conftest import REPO


def test_route_library_logs_sends_lightning_records_to_root_handlers(tmp_path):
    root, path = logging.getLogger(), tmp_path / "run.log"
    handler = logging.FileHandler(path)
    root.addHandler(handler)
    lib = logging.getLogger("pytorch_lightning")
    saved = (lib.propagate, list(lib.handlers))
    try:
        lib.propagate = False  # the state Lightning leaves when imported before any root handler (as in run.py)
        lib.addHandler(logging.StreamHandler())
        route_library_logs()
        pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False)
    finally:
        root.removeHandler(handler)
        handler.close()
        logging.captureWarnings(False)
        lib.propagate = saved[0]
        lib.handlers[:] = saved[1]
    assert "GPU available: False" in path.read_text()  # Lightning's own line, in the file too


@pytest.mark.slow
def test_run_log_holds_lightning_messages_and_config_tree(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "TEXTGAN_CACHE": str(tmp_path / "c")}
    cmd = [sys.executable, "run.py", "experiment=smoke_mle", "trainer=cpu", "logger=many", "test=false",
           f"hydra.run.dir={out}"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = (out / "run.log").read_text()
    assert "GPU available: False" in text and "`Trainer.fit` stopped" in text  # Lightning's messages
    assert "resolved config:" in text and "optimized_metric: val/nll_oracle" in text  # the config tree
    assert "[textgan.runs.train][INFO] - seed" in text
    assert "exists and is not empty" not in text + proc.stderr + proc.stdout

    hparams = yaml.safe_load((out / "csv" / "hparams.yaml").read_text())
    assert hparams["method"]["optimizer"]["lr"] > 0
    assert set(hparams) == {"seed", "sweep_name", "test", "ckpt_path", "num_threads", "keep_freed_memory", "eval_every",
                            "optimized_metric", "optimized_mode", "data", "method", "trainer", "logger",
                            "callbacks", "paths", "metrics"}  # the run config once: no `lr`, `epochs`... at the top

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = set()
    for events in (out / "tensorboard").glob("events.out.tfevents.*"):
        acc = EventAccumulator(str(events))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"])
    assert "train/g_mle_loss" in tags and "hp_metric" not in tags
