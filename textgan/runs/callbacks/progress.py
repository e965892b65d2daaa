"""A progress bar that names the training phase (G pre-training / D pre-training / adversarial)."""

from __future__ import annotations

from pytorch_lightning.callbacks import TQDMProgressBar

PHASE_LABELS = {
    "g_pretrain": "G pre-training (MLE)",
    "d_pretrain": "D pre-training",
    "adversarial": "adversarial",
    "mle": "MLE",
}


class PhaseProgressBar(TQDMProgressBar):
    """TQDM bar whose description is `<phase> | epoch e/E`; the losses the method logs with `prog_bar=True`
    appear on the right."""

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        super().on_train_epoch_start(trainer, pl_module)
        phase = getattr(pl_module, "phase", "train")
        label = PHASE_LABELS.get(phase, phase)
        self.train_progress_bar.set_description(f"{label} | epoch {trainer.current_epoch + 1}/{trainer.max_epochs}")
