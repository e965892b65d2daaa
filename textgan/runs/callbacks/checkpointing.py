"""Checkpoints that survive crashes and resume bitwise: atomic writes, safe loads, RNG states, per-rank seeds.

- `AtomicCheckpointIO` (a Lightning `CheckpointIO` plugin, always installed by `train.py`): `torch.save` to a
  temporary file in the same folder, `fsync`, then `os.replace` onto the target, so a crash (SIGKILL, full disk)
  mid-write leaves the previous checkpoint intact; the replaced `last.ckpt` is kept as `last.prev.ckpt` (resuming
  falls back to it when the newest is unreadable); loads with `torch.load(weights_only=True)` only, and an
  unreadable file is a one-line `CheckpointError` (never torch's advice to disable `weights_only`).
- `RNGState` (a callback, always installed by `train.py`): stores the torch / CUDA / numpy / python RNG states in
  every checkpoint (plain tensors, lists and ints, so `weights_only=True` loads them) and restores them when training
  resumes. Checkpoints are taken at the end of an epoch (after its evaluation), and the restore happens before the
  next epoch's dataloader draws its shuffling seed, so a resumed run draws the same data order, the same
  negatives and the same samples as an uninterrupted one.
- Data-parallel runs: every rank starts from the same seed (identical initial weights), then `RNGState` reseeds
  rank `r` with `seed + r` once the processes exist, so ranks do not draw identical noise.
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.plugins.io import TorchCheckpointIO

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """`TorchCheckpointIO` whose saves are atomic and whose loads are `weights_only=True`.

    Args:
        keep_previous: file names (default `last.ckpt`) whose replaced version is kept as `<stem>.prev.ckpt` (a
            hard link to the old file, so no copy), so that resuming can fall back to it when the newest one turns
            out unreadable (`textgan.runs.resume`).
    """

    def __init__(self, keep_previous: tuple[str, ...] = ("last.ckpt",)):
        super().__init__()
        self.keep_previous = tuple(keep_previous)

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        from textgan.runs.checkpoint import previous_checkpoint

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            with open(tmp, "wb") as f:
                torch.save(checkpoint, f)
                f.flush()
                os.fsync(f.fileno())
            if path.name in self.keep_previous and path.is_file():
                _replace_with_link(path, previous_checkpoint(path))
            os.replace(tmp, path)  # atomic on POSIX: readers see the old file or the new one, never half of one
            _fsync_dir(path.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def load_checkpoint(self, path, map_location: Any | None = None, weights_only: bool | None = None) -> dict:
        from textgan.runs.checkpoint import CheckpointError

        try:
            return super().load_checkpoint(path, map_location=map_location, weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as ex:  # torch's own message advises weights_only=False: never pass that on
            kind = "holds objects other than tensors and plain data (refused by the weights only loader)" \
                if "weights_only" in str(ex).lower() else "is truncated or not a checkpoint"
            raise CheckpointError(f"{path} {kind} ({type(ex).__name__}); resume from another checkpoint "
                                  f"(ckpt_path=last falls back to the previous good one)") from None


def _replace_with_link(src: Path, dst: Path) -> None:
    """Make `dst` the file `src` is now (a hard link; a copy where the file system has none), atomically."""
    import shutil

    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def _fsync_dir(path: Path) -> None:
    """Make the renames in `path` durable (a power cut must not bring back the old directory entries)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def rng_states() -> dict[str, Any]:
    """The process's RNG states as plain types (tensors, ints, lists) that `torch.load(weights_only=True)` reads."""
    version, mt_state, gauss = random.getstate()
    np_state = np.random.get_state()
    states = {
        "torch": torch.get_rng_state(),
        "python": {"version": version, "state": list(mt_state), "gauss": gauss},
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Inverse of `rng_states`."""
    torch.set_rng_state(states["torch"].cpu())
    py = states["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npy = states["numpy"]
    np.random.set_state(("MT19937", npy["key"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached_gaussian"]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def restart_interrupted_epoch(checkpoint: dict) -> bool:
    """Make a mid-epoch checkpoint (SIGTERM's `interrupted.ckpt`, Lightning's SLURM `hpc_ckpt_*.ckpt`) resume at
    the *start* of its epoch: a plain DataLoader cannot skip the batches already seen, and methods prepare an
    epoch in its first batch (SeqGAN draws its negative pools there). The epoch then runs in full on top of the
    weights saved mid-epoch: no crash and no lost work, but not the bitwise continuation that an end-of-epoch
    `last.ckpt` gives. Returns True when the checkpoint was mid-epoch (and has been changed in place)."""
    try:
        progress = checkpoint["loops"]["fit_loop"]["epoch_loop.batch_progress"]
    except (KeyError, TypeError):
        return False
    current, total = progress["current"], progress["total"]
    if current.get("completed", 0) == 0:
        return False
    epoch_progress = checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]
    if epoch_progress.get("processed", 0) >= epoch_progress.get("started", 0):
        # saved at the end of an epoch (`last.ckpt`, on_train_epoch_end: processed, not yet completed, batch
        # counters not reset yet): nothing to rewind
        return False
    done = current["completed"]
    for key in total:
        total[key] = max(0, total[key] - current.get(key, 0))
    for key in current:
        current[key] = 0
    progress["is_last_batch"] = False
    log.warning(f"checkpoint saved after batch {done} of epoch {checkpoint.get('epoch')}: that epoch restarts from "
                f"its first batch (only end-of-epoch checkpoints resume bitwise)")
    return True


class RNGState(Callback):
    """Saves RNG states in checkpoints and restores them on resume; reseeds each rank of a data-parallel run.

    Args:
        seed: the run's seed (rank `r` of a multi-process run continues with `seed + r`); None: no reseeding.
    """

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self._restored = False

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint["rng_states"] = rng_states()  # rank 0's states (the file rank 0 writes)

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        # called before the fit loop builds the first dataloader iterator: restoring here makes the resumed epoch
        # draw the same shuffling seed as the uninterrupted run did
        if trainer.state.fn == "fit":
            restart_interrupted_epoch(checkpoint)
        if "rng_states" in checkpoint and trainer.state.fn == "fit":
            set_rng_states(checkpoint["rng_states"])
            self._restored = True
            if trainer.world_size > 1:
                # every rank restored rank 0's state: derive distinct per-rank streams from it
                base = int(torch.randint(0, 2**31 - 1, (1,)).item())
                pl.seed_everything(base + trainer.global_rank, workers=True, verbose=False)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # called once the processes of a data-parallel run exist (and before a checkpoint is restored)
        if stage == "fit" and trainer.world_size > 1 and self.seed is not None:
            pl.seed_everything(self.seed + trainer.global_rank, workers=True, verbose=False)
