"""The only place that turns a config into objects: data, method, loggers, callbacks, Trainer; then fit and test.

`run.py` calls `train(cfg)` under `@hydra.main`; tests and scripts call it with a config from
`textgan.config.compose.compose_config`.

Besides the configured callbacks, every run gets `RNGState` (RNG states in checkpoints, per-rank seeds) and the
`AtomicCheckpointIO` plugin (atomic writes, `weights_only=True` loads) and `RestartHistory` (a resumed run's
`metrics.csv` holds each epoch once): a run must never be lost because a callback was left out of a config.
`ckpt_path=last` resumes the newest earlier run of the same configuration (`textgan/runs/resume.py`); the run dir is
claimed before anything is written into it (`textgan/runs/run_dir.py`); the W&B run's group, id, axes and
summary are the `WandbRun` callback's (`textgan/runs/wandb_run.py`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.accelerators import CPUAccelerator
from pytorch_lightning.utilities.exceptions import SIGTERMException

from textgan.config.checks import check_devices
from textgan.config.validate import validate_config
from textgan.fast.cpu_memory import keep_freed_memory
from textgan.metrics.build import build_metrics
from textgan.runs.callbacks.checkpointing import AtomicCheckpointIO, RNGState
from textgan.runs.checkpoint import check_checkpoint, epochs_done
from textgan.runs.loggers import RestartHistory, resync_csv_loggers
from textgan.runs.resume import resolve_ckpt_path, resume_signature, schedule_knob
from textgan.runs.run_dir import claim_run_dir
from textgan.runs.run_log import config_tree, route_library_logs
from textgan.runs.wandb_run import WandbRun

__all__ = ["train"]

log = logging.getLogger(__name__)

class RunInterrupted(SystemExit):
    """SIGTERM/SIGINT stopped the run after a checkpoint was saved; exit status 128 + signal number."""


def instantiate_group(group: DictConfig | None) -> list:
    """Instantiate every entry of a `callbacks`/`logger` group that is non-null and has a `_target_`."""
    if not group:
        return []
    return [instantiate(c) for c in group.values() if isinstance(c, DictConfig) and "_target_" in c]


def train(cfg: DictConfig) -> float | None:
    """Fit (and test) the configured method; return `cfg.optimized_metric` for sweepers (None if never logged)."""
    route_library_logs()  # Lightning's messages and warnings into run.log too, not only onto stderr
    validate_config(cfg)
    check_devices(cfg)  # here, not before Hydra: the machine that runs the job is the one that counts
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True, verbose=False)  # Lightning's line would go to stderr
        log.info(f"seed {cfg.seed}")
    if cfg.get("num_threads"):
        torch.set_num_threads(cfg.num_threads)

    run_config = OmegaConf.to_container(cfg, resolve=True)
    log.info("resolved config:\n" + config_tree(cfg))
    signature = resume_signature(run_config)
    ckpt_path = resolve_ckpt_path(cfg, signature)
    out = Path(cfg.paths.output_dir)

    datamodule = instantiate(cfg.data)  # constructors check their values: a mistake leaves no run dir behind
    claim_run_dir(out, signature, ckpt_path)  # before anything is written into it
    datamodule.setup("fit")
    method = instantiate(cfg.method, vocab=datamodule.vocab)
    # what evaluation measures: the `metrics:` nodes, built from what the data provides (references, oracle, ...)
    method.set_metrics(build_metrics(cfg.get("metrics"), datamodule, datamodule.vocab, method.seq_len))
    method.run_config = run_config
    check_checkpoint(method, ckpt_path)  # weights of another method/model: one line before the Trainer starts
    max_epochs = cfg.trainer.get("max_epochs") or method.total_epochs
    done = epochs_done(ckpt_path) if ckpt_path is not None else 0
    if done >= max_epochs:
        # Lightning would restore, warn about restarting an epoch and stop at once; say what happened instead
        knob = schedule_knob(cfg, method.phases)
        log.info(f"run already finished at epoch {done} of {max_epochs}: nothing to do (delete "
                 f"{Path(ckpt_path).resolve().parent.parent} to train it again, or raise {knob} and resume with "
                 f"ckpt_path={ckpt_path} to continue it)")
        return None

    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    datamodule.vocab.save(out / "checkpoints" / "vocab.json")  # next to every checkpoint of this run
    (out / "checkpoints" / "run_config.json").write_text(json.dumps(signature, sort_keys=True))
    if ckpt_path is not None and not Path(ckpt_path).resolve().is_relative_to(out.resolve()):
        # resumed into a new dir: its history starts here; say where the earlier part is
        origin = {"checkpoint": str(Path(ckpt_path).resolve()), "run_dir": str(Path(ckpt_path).resolve().parents[1])}
        (out / "checkpoints" / "resumed_from.json").write_text(json.dumps(origin, indent=1))

    wandb_run = WandbRun.prepare(cfg, ckpt_path, out)
    loggers = instantiate_group(cfg.get("logger"))
    callbacks = instantiate_group(cfg.get("callbacks"))
    if not any(isinstance(c, RNGState) for c in callbacks):
        callbacks.append(RNGState(cfg.get("seed")))
    callbacks += [RestartHistory(), wandb_run]
    plugins = [AtomicCheckpointIO(), *(instantiate(cfg.trainer.get("plugins")) or [])]
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False,
                                      max_epochs=max_epochs, plugins=plugins)
    if cfg.get("keep_freed_memory", True) and isinstance(trainer.accelerator, CPUAccelerator):
        keep_freed_memory()  # a CPU fast path: on GPUs the host allocator is not where the time goes
    for lg in loggers:
        lg.log_hyperparams(method.run_config)

    try:
        trainer.fit(method, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SIGTERMException:
        interrupt = next((c for c in callbacks if hasattr(c, "signum") and c.signum), None)
        signum = interrupt.signum if interrupt else 15
        log.warning(f"run interrupted by signal {signum}; exiting")
        raise RunInterrupted(128 + signum) from None
    metric = trainer.callback_metrics.get(cfg.get("optimized_metric"))  # read before test() resets them
    final = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
    if cfg.get("test"):
        resync_csv_loggers(loggers)
        trainer.test(method, datamodule=datamodule, weights_only=True)
        final.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")})

    wandb_run.finish(trainer, final)
    return None if metric is None else float(metric)
