"""Keep the model as each phase of a method's schedule leaves it: `checkpoints/end_<phase>.ckpt`.

SeqGAN's generator after its MLE pre-training is the MLE baseline of Yu et al. (2017, Table 1): saving it when the
phase ends lets `textgan.cli.evaluate` draw that model's quality-diversity curve beside the adversarially trained one
from the same run, without a second 120-epoch training.
"""

from __future__ import annotations

from pathlib import Path

from pytorch_lightning.callbacks import Callback


class PhaseEndCheckpoint(Callback):
    """After the last epoch of each phase but the final one (`pl_module.phases` / `phase_epochs()`), save
    `<dirpath>/end_<phase>.ckpt` (the final phase ends in `last.ckpt`). Single-phase methods save nothing."""

    def __init__(self, dirpath: str):
        self.dirpath = Path(dirpath)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        end = 0
        for name, epochs in list(zip(pl_module.phases, pl_module.phase_epochs()))[:-1]:
            end += epochs
            if epochs > 0 and trainer.current_epoch + 1 == end:
                trainer.save_checkpoint(self.dirpath / f"end_{name}.ckpt")  # every rank calls; rank 0 writes
