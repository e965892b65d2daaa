"""Loggers that keep a run's history in one piece when it is resumed in the same directory.

Lightning's `CSVLogger` deletes an existing `metrics.csv` when it starts ("Previous log files in this directory will
be deleted"), so a run resumed into its own output dir (`ckpt_path=last` finds it, or `ckpt_path=.../last.ckpt
hydra.run.dir=<same dir>`) would lose every metric logged before the interruption. `ResumableCSVLogger` reads the
old rows first and writes them back ahead of the new ones; `RestartHistory` (a callback `train.py` installs) drops
the old rows of every epoch the resumed run does again (the epoch that was interrupted), so the file ends up equal
to an uninterrupted run's. `resync_csv_loggers` lets `test()` append after a `ddp_spawn` fit.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import CSVLogger


class ResumableCSVLogger(CSVLogger):
    """A `CSVLogger` that appends to the `metrics.csv` already in its directory instead of deleting it."""

    @property
    def experiment(self):
        if self._experiment is not None:
            return self._experiment
        path = os.path.join(self.log_dir, "metrics.csv")
        previous: list[dict[str, str]] = []
        if os.path.isfile(path):
            with open(path, newline="") as f:
                previous = list(csv.DictReader(f))
        writer = super().experiment  # deletes metrics.csv (on rank 0; other ranks get a dummy that writes nothing)
        if previous and isinstance(getattr(writer, "metrics", None), list):
            writer.metrics = previous + writer.metrics  # written back (with any new columns) at the next save
        return writer

    def drop_from_epoch(self, epoch: int) -> int:
        """Forget the rows whose `epoch` is `epoch` or later (work that is being redone), in memory and in the
        file (the trainer writes the old rows back before fitting starts); returns how many were dropped."""
        writer = self.experiment
        rows = getattr(writer, "metrics", None)
        if not isinstance(rows, list):
            return 0  # a rank other than 0: writes nothing

        def kept(row: dict) -> bool:
            try:
                return float(row.get("epoch", "")) < epoch
            except (TypeError, ValueError):
                return True  # a row without an epoch is kept

        dropped = len(rows)
        writer.metrics = [r for r in rows if kept(r)]
        dropped -= len(writer.metrics)
        path = writer.metrics_file_path
        if os.path.isfile(path):
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                header, on_disk = reader.fieldnames or [], list(reader)
            keep = [r for r in on_disk if kept(r)]
            if len(keep) < len(on_disk):
                tmp = f"{path}.tmp{os.getpid()}"
                with open(tmp, "w", newline="") as f:
                    out = csv.DictWriter(f, fieldnames=header)
                    out.writeheader()
                    out.writerows(keep)
                os.replace(tmp, path)  # a crash now leaves the old file or the new one
                dropped += len(on_disk) - len(keep)
        return dropped


class RestartHistory(Callback):
    """When fitting starts (after a checkpoint was restored), drop every `ResumableCSVLogger`'s old rows of the
    epochs that will run again, so that a resumed run's `metrics.csv` has each epoch once."""

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for lg in trainer.loggers:
            if isinstance(lg, ResumableCSVLogger):
                lg.drop_from_epoch(trainer.current_epoch)


def resync_csv_loggers(loggers: list) -> None:
    """After a `ddp_spawn` fit, the main process's CSVLogger has not seen the columns its children wrote; teach it
    the file's header so that `test()` appends to the file instead of failing to rewrite it."""
    for lg in loggers:
        path = getattr(lg.experiment, "metrics_file_path", None) if isinstance(lg, CSVLogger) else None
        if not isinstance(path, str):  # ranks other than 0 hold a dummy experiment
            continue
        if Path(path).exists() and not lg.experiment.metrics_keys:
            with open(path, newline="") as f:
                lg.experiment.metrics_keys = next(csv.reader(f), [])
