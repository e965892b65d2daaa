"""The only place that turns a config into objects: data, method, loggers, callbacks, Trainer; then fit and test.

`run.py` calls `train(cfg)` under `@hydra.main`; tests call it with a composed config.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def wandb_logged_in() -> bool:
    """True when W&B has an API key (env var or ~/.netrc), i.e. online logging will not ask for a login."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.exists() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def instantiate_group(group: DictConfig | None) -> list:
    """Instantiate every entry of a `callbacks`/`logger` group that is non-null and has a `_target_`."""
    if not group:
        return []
    return [instantiate(c) for c in group.values() if isinstance(c, DictConfig) and "_target_" in c]


def train(cfg: DictConfig) -> float | None:
    """Fit (and test) the configured method; return `cfg.optimized_metric` for sweepers (None if never logged)."""
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True)
    if cfg.get("num_threads"):
        torch.set_num_threads(cfg.num_threads)
    if "WANDB_MODE" not in os.environ and not wandb_logged_in():
        os.environ["WANDB_MODE"] = "offline"  # never wait for a login; sync later with `wandb sync`

    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    method = instantiate(cfg.method, vocab=datamodule.vocab)
    method.run_config = OmegaConf.to_container(cfg, resolve=True)

    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    datamodule.vocab.save(out / "checkpoints" / "vocab.json")  # next to every checkpoint of this run

    loggers = instantiate_group(cfg.get("logger"))
    callbacks = instantiate_group(cfg.get("callbacks"))
    max_epochs = cfg.trainer.get("max_epochs") or method.total_epochs
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, max_epochs=max_epochs)
    for lg in loggers:
        lg.log_hyperparams(method.run_config)

    trainer.fit(method, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    metric = trainer.callback_metrics.get(cfg.get("optimized_metric"))  # read before test() resets them
    if cfg.get("test"):
        trainer.test(method, datamodule=datamodule)

    if "wandb" in {type(lg).__name__.lower().replace("logger", "") for lg in loggers}:
        import wandb

        wandb.finish()  # in multirun, the next job must not log into this run
    return None if metric is None else float(metric)
