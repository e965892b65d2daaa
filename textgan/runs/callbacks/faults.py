"""Fault handling: non-finite losses or gradients, and SIGTERM / SIGINT.

- `NaNGuard`: checks every loss before its backward pass and every gradient before its optimizer step (Lightning
  calls these hooks under manual optimization too). `action="stop"` ends the run with `NonFiniteError` naming the
  logged loss(es) that went non-finite, the global step, epoch and batch; no checkpoint is written after the bad
  step, so `last.ckpt` stays the last good one. `action="skip"`: the offending optimizer step is skipped (its
  gradients dropped), a warning is logged and `train/skipped_steps` counts them.
- `GracefulInterrupt`: SIGTERM (pre-emption, `scancel`, `kill`) and SIGINT (Ctrl-C) stop the run at the next batch
  boundary, never in the middle of an optimizer step. The state at that point is saved atomically to
  `<dirpath>/interrupted.ckpt`; `last.ckpt` (the last completed epoch) stays the `ckpt_path=last` resume point,
  because an epoch boundary is where a resumed run continues bitwise like an uninterrupted one (resuming from
  `interrupted.ckpt` re-runs its epoch from the first batch, see `restart_interrupted_epoch`). `train.py`
  then exits with status 128 + signal number and no traceback. A second Ctrl-C aborts at once.
"""

from __future__ import annotations

import logging
import math
import signal
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.utilities.exceptions import SIGTERMException

from textgan.errors import UserError

log = logging.getLogger(__name__)


class NonFiniteError(UserError, RuntimeError):
    """A loss or gradient became NaN/Inf (raised by `NaNGuard(action="stop")`); exit status 1: the run failed."""

    exit_status = 1


class NaNGuard(Callback):
    """Stop (or skip the step) when a loss or a gradient is NaN or Inf.

    Args:
        action: "stop" (raise `NonFiniteError` at the end of the batch) or "skip" (drop that optimizer step).
        check_gradients: also check gradients before each optimizer step (disabled automatically under
            `16-mixed`, whose loss scaler skips overflowing steps itself).
    """

    def __init__(self, action: str = "stop", check_gradients: bool = True):
        if action not in ("stop", "skip"):
            raise ValueError(f"callbacks.nan_guard.action must be 'stop' or 'skip', got {action!r}")
        self.action = action
        self.check_gradients = check_gradients
        self.skipped = 0
        self._bad_loss = False  # the loss of the current backward/step pair was non-finite
        self._problems: list[str] = []
        self._step = 0

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if str(trainer.precision).startswith("16"):
            self.check_gradients = False

    def on_before_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: torch.Tensor) -> None:
        if not torch.isfinite(loss.detach()).all():
            self._bad_loss = True
            self._problem(trainer, f"loss = {loss.detach().float().mean().item()}")

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer) -> None:
        bad_grad = None
        grads = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        # one device-to-host read per step (not one per parameter); names are looked up only after a failure
        if self.check_gradients and grads and not torch.stack([torch.isfinite(p.grad).all() for p in grads]).all():
            names = {p: n for n, p in pl_module.named_parameters()}
            bad_grad = next(names.get(p, "?") for p in grads if not torch.isfinite(p.grad).all())
        if bad_grad:
            self._problem(trainer, f"gradient of {bad_grad}")
        if (self._bad_loss or bad_grad) and self.action == "skip":
            for group in optimizer.param_groups:
                for p in group["params"]:
                    p.grad = None  # optimizers skip parameters without a gradient: the step changes nothing
            self.skipped += 1
            log.warning(f"NaNGuard: skipped the optimizer step at global step {trainer.global_step} "
                        f"(non-finite {', '.join(self._problems[-2:])})")
            pl_module.log("train/skipped_steps", float(self.skipped))
        self._bad_loss = False

    def _problem(self, trainer: pl.Trainer, what: str) -> None:
        if not self._problems:
            self._step = trainer.global_step  # the optimizer step that met the first non-finite value
        self._problems.append(what)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        if not self._problems:
            return
        problems, self._problems = self._problems, []
        if self.action == "skip":
            return
        logged = [k for k, v in trainer.callback_metrics.items()
                  if k.startswith("train/") and not math.isfinite(float(v))]
        what = ", ".join(logged) if logged else "an unlogged loss"
        raise NonFiniteError(
            f"non-finite {what} ({'; '.join(problems[:3])}) at global step {self._step} "
            f"(epoch {trainer.current_epoch}, batch {batch_idx}, phase {getattr(pl_module, 'phase', '?')}); "
            f"the last good checkpoint is kept; set callbacks.nan_guard.action=skip to skip such steps instead")

    def state_dict(self) -> dict:
        return {"skipped": self.skipped}

    def load_state_dict(self, state_dict: dict) -> None:
        self.skipped = int(state_dict.get("skipped", 0))


class GracefulInterrupt(Callback):
    """On SIGTERM / SIGINT: finish the current batch, save `<dirpath>/interrupted.ckpt`, exit cleanly.

    SIGTERM is Lightning's own signal path (`trainer.received_sigterm`, broadcast to every rank); SIGINT is routed
    into it so a Ctrl-C never lands in the middle of an optimizer step.
    """

    def __init__(self, dirpath: str, filename: str = "interrupted.ckpt"):
        self.path = Path(dirpath) / filename
        self.signum: int | None = None
        self._old_sigint = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # after Lightning registered its own handlers (it restores what it found at teardown)
        self.signum = None
        connector = trainer._signal_connector

        def on_sigint(signum, frame):
            if self.signum is not None:  # second Ctrl-C: give up waiting
                raise KeyboardInterrupt
            log.warning("SIGINT received: stopping after the current batch (Ctrl-C again to abort at once)")
            self.signum = signum
            connector.received_sigterm = True

        try:
            self._old_sigint = signal.signal(signal.SIGINT, on_sigint)
        except ValueError:  # not the main thread
            self._old_sigint = None

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._restore_sigint()  # Lightning skips the callbacks' teardown after an exception
        if not isinstance(exception, SIGTERMException):
            return
        if self.signum is None:
            self.signum = int(signal.SIGTERM)
        trainer.save_checkpoint(self.path, weights_only=False)  # full state: weights, optimizers, loops
        log.warning(f"stopped by signal {self.signum} at epoch {trainer.current_epoch}, global step "
                    f"{trainer.global_step}: saved {self.path}; ckpt_path=last resumes bitwise from the last "
                    f"completed epoch, ckpt_path={self.path} re-runs this epoch on top of the saved weights")

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._restore_sigint()

    def _restore_sigint(self) -> None:
        if self._old_sigint is not None:
            signal.signal(signal.SIGINT, self._old_sigint)
            self._old_sigint = None
