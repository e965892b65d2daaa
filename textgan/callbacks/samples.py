"""Log decoded samples after each evaluation: a text file under the run dir, and a W&B table when W&B logs."""

from __future__ import annotations

from pathlib import Path

from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import WandbLogger


class SampleLogger(Callback):
    """Writes `pl_module.eval_samples` (decoded text, set by the evaluation) to
    `<dirpath>/samples_epoch{E:04d}.txt` and, for a `WandbLogger`, to a table `samples` (epoch, sample)."""

    def __init__(self, dirpath: str, num_samples: int = 20):
        self.dirpath = Path(dirpath)
        self.num_samples = num_samples

    def _write(self, trainer, pl_module, tag: str) -> None:
        samples = list(getattr(pl_module, "eval_samples", []))[: self.num_samples]
        if not samples or trainer.sanity_checking or not trainer.is_global_zero:
            return
        self.dirpath.mkdir(parents=True, exist_ok=True)
        path = self.dirpath / f"samples_{tag}_epoch{trainer.current_epoch:04d}.txt"
        path.write_text("\n".join(s.replace("\n", " ") for s in samples) + "\n", encoding="utf-8")
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_text(key=f"{tag}/samples", columns=["epoch", "sample"],
                                data=[[trainer.current_epoch, s] for s in samples])

    def on_validation_end(self, trainer, pl_module) -> None:
        self._write(trainer, pl_module, "val")

    def on_test_end(self, trainer, pl_module) -> None:
        self._write(trainer, pl_module, "test")
