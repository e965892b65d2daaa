"""Loggers that keep a run's history when it is resumed in the same directory.

Lightning's `CSVLogger` deletes an existing `metrics.csv` when it starts ("Previous log files in this directory will
be deleted"), so a run resumed into its own output dir (`ckpt_path=.../last.ckpt hydra.run.dir=<same dir>`) would
lose every metric logged before the interruption. `ResumableCSVLogger` reads the old rows first and writes them back
ahead of the new ones.
"""

from __future__ import annotations

import csv
import os

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
