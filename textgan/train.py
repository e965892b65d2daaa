"""The only place that turns a config into objects: data, method, loggers, callbacks, Trainer; then fit and test.

`run.py` calls `train(cfg)` under `@hydra.main`; tests call it with a composed config.

Besides the configured callbacks, every run gets `RNGState` (RNG states in checkpoints, per-rank seeds) and the
`AtomicCheckpointIO` plugin (atomic writes, `weights_only=True` loads) and `RestartHistory` (a resumed run's
`metrics.csv` holds each epoch once): a run must never be lost because a callback was left out of a config.
`ckpt_path=last` resumes the newest earlier run of the same configuration (`textgan/resume.py`); the run dir is
claimed before anything is written into it (`textgan/run_dir.py`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from pytorch_lightning.accelerators import CPUAccelerator
from pytorch_lightning.utilities.exceptions import SIGTERMException

from textgan.callbacks.checkpointing import AtomicCheckpointIO, RNGState
from textgan.config_validation import validate_config
from textgan.fast.cpu_memory import keep_freed_memory
from textgan.loggers import RestartHistory
from textgan.metrics.build import build_metrics
from textgan.preflight import check_checkpoint, check_devices
from textgan.resume import find_last_checkpoint, resolve_ckpt_path, resume_signature
from textgan.run_dir import claim_run_dir
from textgan.run_log import config_tree, route_library_logs

__all__ = ["compose_config", "find_last_checkpoint", "resume_signature", "train"]

log = logging.getLogger(__name__)

class RunInterrupted(SystemExit):
    """SIGTERM/SIGINT stopped the run after a checkpoint was saved; exit status 128 + signal number."""


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


# ------------------------------------------------------------------------------------------------ W&B
def _hydra_runtime():
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _configure_wandb(cfg: DictConfig) -> None:
    """Group the runs of a sweep together: in multirun `group` = `<sweep_name>/<time>_<id>`, the last two parts
    of the sweep dir, the same for every job of the sweep (methods and seeds included)."""
    wandb_cfg = (cfg.get("logger") or {}).get("wandb")
    hc = _hydra_runtime()
    if not wandb_cfg or hc is None or str(hc.mode) != "RunMode.MULTIRUN":
        return
    # the parent of the dir Hydra made for this job, not `hc.sweep.dir` re-resolved here (its `${now:}` could name
    # another time); the job dir (`hydra.sweep.subdir`) is one path component (`textgan.run_dir.job_dirname`)
    sweep = Path(hc.runtime.output_dir).parent
    with open_dict(cfg):
        cfg.logger.wandb.group = f"{sweep.parent.name}/{sweep.name}"


WANDB_ID = "wandb_id"  # next to the checkpoints: the W&B run a resumed run continues


def _keep_wandb_run(cfg: DictConfig, ckpt_path: str | None, out: Path) -> None:
    """A run resumed from a checkpoint continues its W&B run (online or offline): the id is read from the
    checkpoint's folder (a new one for a fresh run), written into this run's `checkpoints/`, and passed to
    `WandbLogger(id=..., resume="allow")`."""
    wandb_cfg = (cfg.get("logger") or {}).get("wandb")
    if not isinstance(wandb_cfg, DictConfig) or "_target_" not in wandb_cfg:
        return
    known = Path(ckpt_path).parent / WANDB_ID if ckpt_path else None
    run_id = known.read_text().strip() if known is not None and known.is_file() else ""
    if not re.fullmatch(r"[a-z0-9]{8,64}", run_id):  # what we write; anything else starts a new W&B run
        run_id = secrets.token_hex(4)
    path = out / "checkpoints" / WANDB_ID
    tmp = path.with_name(f"{WANDB_ID}.tmp{os.getpid()}")
    tmp.write_text(run_id + "\n")
    os.replace(tmp, path)
    with open_dict(cfg):
        cfg.logger.wandb.id = run_id
        cfg.logger.wandb.resume = "allow"


def _wandb_loggers(loggers: list) -> list:
    from pytorch_lightning.loggers import WandbLogger

    return [lg for lg in loggers if isinstance(lg, WandbLogger)]


def _define_wandb_metrics(loggers: list) -> None:
    """Curves against our own counters: evaluations against the schedule epoch (`val/epoch`), adversarial
    metrics against `progress/adversarial_round`."""
    for lg in _wandb_loggers(loggers):
        try:
            run = lg.experiment
            for prefix in ("val", "test"):
                run.define_metric(f"{prefix}/epoch")
                run.define_metric(f"{prefix}/*", step_metric=f"{prefix}/epoch")
            run.define_metric("progress/adversarial_round")
            for name in ("train/g_pg_loss", "train/mean_reward", "train/d_loss"):
                run.define_metric(name, step_metric="progress/adversarial_round")
        except Exception as ex:  # a disabled or broken W&B must never stop training
            log.warning(f"W&B define_metric failed: {ex}")


def _finish_wandb(loggers: list, final: dict[str, float]) -> None:
    if not _wandb_loggers(loggers):
        return
    import wandb

    for lg in _wandb_loggers(loggers):
        try:
            lg.experiment.summary.update(final)
        except Exception as ex:
            log.warning(f"W&B summary failed: {ex}")
    wandb.finish()  # in multirun, the next job must not log into this run


def _resync_csv_loggers(loggers: list) -> None:
    """After a `ddp_spawn` fit, the main process's CSVLogger has not seen the columns its children wrote; teach it
    the file's header so that `test()` appends to the file instead of failing to rewrite it."""
    import csv

    from pytorch_lightning.loggers import CSVLogger

    for lg in loggers:
        path = getattr(lg.experiment, "metrics_file_path", None) if isinstance(lg, CSVLogger) else None
        if not isinstance(path, str):  # ranks other than 0 hold a dummy experiment
            continue
        if Path(path).exists() and not lg.experiment.metrics_keys:
            with open(path, newline="") as f:
                lg.experiment.metrics_keys = next(csv.reader(f), [])


# ------------------------------------------------------------------------------------------------ compose
CONF_DIR = Path(__file__).resolve().parent / "conf"


def compose_config(overrides: list[str], output_dir: str | os.PathLike) -> DictConfig:
    """Compose `conf/config.yaml` with `overrides` as `run.py` would, outputs under `output_dir` (for scripts and
    tests that call `train` without `@hydra.main`). Hydra's runtime config is registered so `${hydra:...}`
    interpolations resolve; the returned config has no `hydra` node, like the one `run.py`'s main receives."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose("config", overrides=[*overrides, f"paths.output_dir={output_dir}"], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


# ------------------------------------------------------------------------------------------------ train
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
    if "WANDB_MODE" not in os.environ and not wandb_logged_in():
        os.environ["WANDB_MODE"] = "offline"  # never wait for a login; sync later with `wandb sync`
    _configure_wandb(cfg)

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

    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    datamodule.vocab.save(out / "checkpoints" / "vocab.json")  # next to every checkpoint of this run
    (out / "checkpoints" / "run_config.json").write_text(json.dumps(signature, sort_keys=True))
    if ckpt_path is not None and not Path(ckpt_path).resolve().is_relative_to(out.resolve()):
        # resumed into a new dir: its history starts here; say where the earlier part is
        origin = {"checkpoint": str(Path(ckpt_path).resolve()), "run_dir": str(Path(ckpt_path).resolve().parents[1])}
        (out / "checkpoints" / "resumed_from.json").write_text(json.dumps(origin, indent=1))

    _keep_wandb_run(cfg, ckpt_path, out)
    loggers = instantiate_group(cfg.get("logger"))
    callbacks = instantiate_group(cfg.get("callbacks"))
    if not any(isinstance(c, RNGState) for c in callbacks):
        callbacks.append(RNGState(cfg.get("seed")))
    callbacks.append(RestartHistory())
    max_epochs = cfg.trainer.get("max_epochs") or method.total_epochs
    plugins = [AtomicCheckpointIO(), *(instantiate(cfg.trainer.get("plugins")) or [])]
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False,
                                      max_epochs=max_epochs, plugins=plugins)
    if cfg.get("keep_freed_memory", True) and isinstance(trainer.accelerator, CPUAccelerator):
        keep_freed_memory()  # a CPU fast path: on GPUs the host allocator is not where the time goes
    for lg in loggers:
        lg.log_hyperparams(method.run_config)
    _define_wandb_metrics(loggers)

    try:
        trainer.fit(method, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SIGTERMException:
        interrupt = next((c for c in callbacks if hasattr(c, "signum") and c.signum), None)
        signum = interrupt.signum if interrupt else 15
        _finish_wandb(loggers, {})
        log.warning(f"run interrupted by signal {signum}; exiting")
        raise RunInterrupted(128 + signum) from None
    metric = trainer.callback_metrics.get(cfg.get("optimized_metric"))  # read before test() resets them
    final = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
    if cfg.get("test"):
        _resync_csv_loggers(loggers)
        trainer.test(method, datamodule=datamodule, weights_only=True)
        final.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")})

    _finish_wandb(loggers, final)
    return None if metric is None else float(metric)
