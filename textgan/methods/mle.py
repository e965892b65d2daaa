"""`MLE`: the maximum-likelihood baseline (teacher forcing), also SeqGAN's generator pre-training."""

from __future__ import annotations

import torch

from textgan.data.vocab import Vocabulary
from textgan.methods.base import ModelFactory, TextGANModule
from textgan.optim import OptimizerFactory, adam, check_optimizers, plain
from textgan.ranges import NonNegativeFloat, NonNegativeInt, PositiveInt, check_arguments


class MLE(TextGANModule):
    """Train `generator` by teacher-forced cross-entropy for `epochs` epochs with `optimizer` (default Adam,
    lr 0.01)."""

    phases = ("mle",)

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
        check_arguments(MLE, locals(), "method")
        check_optimizers(locals())
        super().__init__(vocab, seq_len, num_eval_samples, grad_clip)
        # logger=False: train.py logs the whole run config once (the checkpoint still holds these)
        self.save_hyperparameters(ignore=["vocab", "generator", "optimizer"], logger=False)
        self.generator = generator(vocab_size=len(vocab), pad_id=vocab.pad_id, eos_id=vocab.eos_id)
        self.optimizer = plain(optimizer)

    def phase_epochs(self) -> tuple[int, ...]:
        return (self.hparams.epochs,)

    def configure_optimizers(self):
        return self.optimizer(self.generator.parameters())

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        loss = self.mle_step(batch, self.optimizers())
        self.log("train/g_mle_loss", loss, prog_bar=True)
