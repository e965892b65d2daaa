"""The default logger (W&B) never waits for a login: without credentials a run goes offline and writes its
files under the run dir, ready for `wandb sync`."""

import os
import re

from textgan.runs.train import train

from conftest import compose_config


def test_default_wandb_logger_runs_offline_without_a_login(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))  # no stored login
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    cfg = compose_config(["experiment=smoke_mle", "logger=wandb", "test=false", "trainer.max_epochs=1"],
                         tmp_path / "run")
    assert train(cfg) is not None
    assert os.environ["WANDB_MODE"] == "offline"
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].rglob("*.wandb"))


def test_resumed_run_continues_its_wandb_run_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    out = tmp_path / "run"
    base = ["experiment=smoke_mle", "logger=wandb", "test=false", "trainer.max_epochs=2"]
    train(compose_config(base, out))
    run_id = (out / "checkpoints" / "wandb_id").read_text().strip()
    # resumed in its own dir from the checkpoint after epoch 1 (`last.ckpt` is finished: nothing would run)
    train(compose_config([*base, f"ckpt_path={out}/checkpoints/last.prev.ckpt"], out))
    runs = sorted((out / "wandb").glob("offline-run-*"))
    assert len(runs) == 2  # one folder per process, both of the same W&B run
    # wandb adds "-1" to the folder of a second process started in the same second
    assert all(re.fullmatch(rf"offline-run-\d{{8}}_\d{{6}}-{run_id}(-\d+)?", r.name) for r in runs), \
        [r.name for r in runs]
