"""`AdversarialTraining`: the schedule that SeqGAN (Yu et al. 2017, Algorithm 1) and adversarial dialogue
(Li et al. 2017, Algorithm 1) share, written once.

Both algorithms train a generator G as a policy rewarded by a discriminator D, in three phases:

1. `g_pretrain`: pre-train G by maximum likelihood on the real data (teacher forcing);
2. `d_pretrain`: pre-train D on real examples against samples of the pre-trained G;
3. `adversarial`: repeat G steps (policy gradient, D's probability of "real" as the reward) and D steps (real
   examples against fresh samples of the current G).

One Lightning epoch is one unit of a phase (`phase_epochs`), so the phase follows from `current_epoch` and a
resumed checkpoint continues in the phase it was saved in. A method says what one batch of phases 2 and 3 trains
on (`phase_data`: the data batch, or batches the method builds) and does with it (`discriminator_pretraining_step`,
`adversarial_step`); this class runs phase 1, dispatches the others, and sets the mode D runs in: training
(dropout on) for its own updates, evaluation (no dropout) while it scores rewards.

The optimisers, in `configure_optimizers`' order: G pre-training, G adversarial, D.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


class AdversarialTraining:
    """Mixin for a `TextGANModule` with `self.generator` and `self.discriminator` (listed before the module
    class, so its `training_step` is the one Lightning calls)."""

    phases = ("g_pretrain", "d_pretrain", "adversarial")

    def training_step(self, batch, batch_idx: int) -> None:
        g_pretrain_opt, g_adversarial_opt, d_opt = self.optimizers()
        phase = self.phase
        self.log("progress/phase", float(self.phase_index()))
        if phase == "g_pretrain":
            self.log("train/g_mle_loss", self.mle_step(batch, g_pretrain_opt), prog_bar=True)
        elif phase == "d_pretrain":
            self.discriminator_pretraining_step(self.phase_data(batch, batch_idx), d_opt)
        else:
            self.adversarial_step(self.phase_data(batch, batch_idx), g_adversarial_opt, d_opt)

    def phase_data(self, batch, batch_idx: int):
        """What batch `batch_idx` of phases 2 and 3 trains on: the data batch itself, unless the method builds its
        own (SeqGAN: D's mixed batches of positives and generated negatives)."""
        return batch

    def discriminator_pretraining_step(self, batch, d_opt) -> None:
        """One batch of phase 2 (`batch`: what `phase_data` gives)."""
        raise NotImplementedError

    def adversarial_step(self, batch, g_opt, d_opt) -> None:
        """One batch of phase 3 (`batch`: what `phase_data` gives)."""
        raise NotImplementedError

    @property
    def adversarial_round(self) -> int:
        """Epochs since the adversarial phase began (0 in its first; negative before it)."""
        g_pretrain, d_pretrain = self.phase_epochs()[:2]
        return self.current_epoch - g_pretrain - d_pretrain

    @contextmanager
    def discriminator_mode(self, training: bool) -> Iterator[torch.nn.Module]:
        """D in training mode (its updates, dropout on) or evaluation mode (rewards, no dropout) inside the
        block; D's previous mode after it."""
        was_training = self.discriminator.training
        self.discriminator.train(training)
        try:
            yield self.discriminator
        finally:
            self.discriminator.train(was_training)
