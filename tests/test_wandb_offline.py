"""The default logger (W&B) never waits for a login: without credentials a run goes offline and writes its
files under the run dir, ready for `wandb sync`."""

import os

from textgan.train import train

from conftest import compose_config


def test_default_wandb_logger_runs_offline_without_a_login(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))  # no stored login
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    cfg = compose_config(["method=mle", "debug=smoke", "logger=wandb", "test=false", "trainer.max_epochs=1"],
                         tmp_path / "run")
    assert train(cfg) is not None
    assert os.environ["WANDB_MODE"] == "offline"
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and any(runs[0].rglob("*.wandb"))
