"""Which W&B run a textgan run logs into, and how it is laid out: one callback, `WandbRun`, that `train()` adds.

`WandbRun.prepare(cfg, ckpt_path, out)`, before the loggers are built, sets up the run:

- `wandb_logged_in()`: is there an API key (else the run logs offline instead of waiting for a login);
- `configure_wandb(cfg)`: the jobs of one sweep share one W&B group;
- `keep_wandb_run(cfg, ckpt_path, out)`: a resumed run continues its W&B run (the id is kept next to the
  checkpoints).

As a callback it then draws the curves against textgan's own counters, not Lightning's global step
(`define_wandb_metrics`, when fitting starts), and closes the W&B run (`finish`: the final values in the run's
summary; in multirun the next job must not log into it), also when fitting stops on a signal or an error.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, open_dict
from pytorch_lightning.callbacks import Callback

log = logging.getLogger(__name__)

WANDB_ID = "wandb_id"  # next to the checkpoints: the W&B run a resumed run continues


def wandb_logged_in() -> bool:
    """True when W&B has an API key (env var or ~/.netrc), i.e. online logging will not ask for a login."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    return netrc.exists() and "api.wandb.ai" in netrc.read_text(errors="ignore")


def _hydra_runtime():
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def configure_wandb(cfg: DictConfig) -> None:
    """Group the runs of a sweep together: in multirun `group` = `<sweep_name>/<time>_<id>`, the last two parts
    of the sweep dir, the same for every job of the sweep (methods and seeds included)."""
    wandb_cfg = (cfg.get("logger") or {}).get("wandb")
    hc = _hydra_runtime()
    if not wandb_cfg or hc is None or str(hc.mode) != "RunMode.MULTIRUN":
        return
    # the parent of the dir Hydra made for this job, not `hc.sweep.dir` re-resolved here (its `${now:}` could name
    # another time); the job dir (`hydra.sweep.subdir`) is one path component (`textgan.runs.run_dir.job_dirname`)
    sweep = Path(hc.runtime.output_dir).parent
    with open_dict(cfg):
        cfg.logger.wandb.group = f"{sweep.parent.name}/{sweep.name}"


def keep_wandb_run(cfg: DictConfig, ckpt_path: str | None, out: Path) -> None:
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


def wandb_loggers(loggers: list) -> list:
    from pytorch_lightning.loggers import WandbLogger

    return [lg for lg in loggers if isinstance(lg, WandbLogger)]


def define_wandb_metrics(loggers: list) -> None:
    """Curves against our own counters: evaluations against the schedule epoch (`val/epoch`), the per-round
    adversarial metrics against `progress/adversarial_round`. `train/d_loss` runs in two phases, so it keeps the
    trainer's step (one W&B metric has one x-axis); its rows carry `progress/d_pretrain_round` or
    `progress/adversarial_round` for plotting one phase against its own rounds."""
    for lg in wandb_loggers(loggers):
        try:
            run = lg.experiment
            for prefix in ("val", "test"):
                run.define_metric(f"{prefix}/epoch")
                run.define_metric(f"{prefix}/*", step_metric=f"{prefix}/epoch")
            run.define_metric("progress/adversarial_round")
            run.define_metric("progress/d_pretrain_round")
            for name in ("train/g_pg_loss", "train/mean_reward"):
                run.define_metric(name, step_metric="progress/adversarial_round")
        except Exception as ex:  # a disabled or broken W&B must never stop training
            log.warning(f"W&B define_metric failed: {ex}")


def finish_wandb(loggers: list, final: dict[str, float]) -> None:
    if not wandb_loggers(loggers):
        return
    import wandb

    for lg in wandb_loggers(loggers):
        try:
            lg.experiment.summary.update(final)
        except Exception as ex:
            log.warning(f"W&B summary failed: {ex}")
    wandb.finish()  # in multirun, the next job must not log into this run


class WandbRun(Callback):
    """The W&B side of a run (see the module docstring); it does nothing when no W&B logger is configured."""

    @classmethod
    def prepare(cls, cfg: DictConfig, ckpt_path: str | None, out: Path) -> WandbRun:
        """Log offline without a login, group a sweep's jobs, continue a resumed run's W&B run (sets `cfg`)."""
        if "WANDB_MODE" not in os.environ and not wandb_logged_in():
            os.environ["WANDB_MODE"] = "offline"  # never wait for a login; sync later with `wandb sync`
        configure_wandb(cfg)
        keep_wandb_run(cfg, ckpt_path, out)
        return cls()

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":
            define_wandb_metrics(trainer.loggers)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        finish_wandb(trainer.loggers, {})

    @staticmethod
    def finish(trainer: pl.Trainer, final: dict[str, float]) -> None:
        """The run's final values into its summary, and the W&B run closed."""
        finish_wandb(trainer.loggers, final)
