"""Maximum-likelihood training (teacher forcing), written once: `MLETraining`, the one phase of MLE steps
(`TextGANModule.mle_step`, also the GANs' pre-training); `MLE`, the unconditional baseline (SeqGAN's generator
alone). The dialogue baseline `textgan.methods.seq2seq.Seq2SeqMLE` is the same training of a seq2seq generator."""

from __future__ import annotations

from textgan.data.vocab import Vocabulary
from textgan.methods.base import ModelFactory, TextGANModule
from textgan.optim import OptimizerFactory, adam
from textgan.ranges import NonNegativeFloat, NonNegativeInt, PositiveInt


class MLETraining:
    """Mixin for a `TextGANModule` with `self.generator`, `self.optimizer` and the setting `epochs` (listed before
    the module class): `epochs` epochs of teacher-forced MLE steps, one per batch."""

    phases = ("mle",)

    def phase_epochs(self) -> tuple[int, ...]:
        return (self.hparams.epochs,)

    def configure_optimizers(self):
        return self.optimizer(self.generator.parameters())

    def training_step(self, batch, batch_idx: int) -> None:
        self.log("train/g_mle_loss", self.mle_step(batch, self.optimizers()), prog_bar=True)


class MLE(MLETraining, TextGANModule):
    """Train `generator` by teacher-forced cross-entropy for `epochs` epochs with `optimizer` (default Adam,
    lr 0.01)."""

    def __init__(
        self,
        vocab: Vocabulary,
        generator: ModelFactory,
        seq_len: int,
        epochs: NonNegativeInt = 120,
        optimizer: OptimizerFactory = adam(lr=0.01),
        grad_clip: NonNegativeFloat = 5.0,
        num_eval_samples: PositiveInt = 10_000,
    ):
        super().__init__(locals())
        self.generator = generator(vocab_size=len(vocab), pad_id=vocab.pad_id, eos_id=vocab.eos_id)
