"""`RelGAN` (Nie, Narodytska & Patel, ICLR 2019, "RelGAN: Relational generative adversarial networks for text
generation", section 2 and the authors' `oracle_train.py`).

The generator is a relational memory core (`textgan.models.rmc.RMCGenerator`), the discriminator a CNN over
many embedded representations (`textgan.models.relgan_discriminator.RelGANDiscriminator`); D reads G's
relaxed one-hots softmax(beta (o_t + g_t)) (eq. 2-3), so its gradient reaches G without policy gradients. Two
phases:

1. `g_pretrain` (`pretrain_epochs`, authors 150): MLE on the real data (Adam, lr 1e-2).
2. `adversarial` (`adversarial_steps`, authors' oracle runs 3,000): each step
       g_steps (1) G updates:  L_G = loss_G(D(x), D(G(z)))        x: a real batch, G(z): relaxed samples
       d_steps (5) D updates:  L_D = loss_D(D(x), D(G(z)))        each on a fresh real batch, G(z) detached
   with Adam (lr 1e-4) for both and `loss="rsgan"` (eq. 4: L_D = BCE(D(x) - D(G(z)), 1),
   L_G = BCE(D(G(z)) - D(x), 1)); `standard` (the non-saturating GAN) and `hinge` are one flag away.
   Every update's gradients are clipped to norm 5, as the authors'.

The inverse temperature of adversarial step n (0 first) is the authors' `get_fixed_temperature`
(`inverse_temperature`), from 1 to `beta_max` over N = `temperature_steps` steps: `exp` gives
beta_n = beta_max ** (n / N). The authors fix N at 5,000 while their oracle runs stop after 3,000 steps, so
beta ends at beta_max ** 0.6 there; that is the default here too, and `temperature_steps=null` sets N to
`adversarial_steps`, so that the whole rise happens within the run (its last step, n = N - 1, is at
beta_max ** ((N - 1) / N)).

Lightning mapping: a Lightning epoch of the adversarial phase is `steps_per_epoch` adversarial steps (the
authors evaluate every 20), one per data batch; the G update trains against that batch, and each D update
draws a random batch of the training set, as the authors' `random_batch()` per update. The step number
follows from the epoch and the batch index, so a resumed run continues the schedule. Evaluation samples
discrete sequences from G (temperature 1) and scores them with the run's metrics (NLL-oracle, NLL-test, BLEU).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch

from textgan.data.vocab import Vocabulary
from textgan.errors import ConfigError
from textgan.losses import (
    gan_discriminator_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
    nonsaturating_generator_loss,
    rsgan_discriminator_loss,
    rsgan_generator_loss,
)
from textgan.methods.base import ModelFactory, TextGANModule, log_row
from textgan.optim import OptimizerFactory, adam
from textgan.ranges import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (D's real logits, D's generated logits) -> scalar
# loss name -> (L_D, L_G), each of (logits of real, logits of generated)
GAN_LOSSES: dict[str, tuple[Loss, Loss]] = {
    "rsgan": (rsgan_discriminator_loss, rsgan_generator_loss),
    "standard": (gan_discriminator_loss, lambda real, fake: nonsaturating_generator_loss(fake)),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
}
SCHEDULES = ("constant", "linear", "exp", "log", "sigmoid", "quad", "sqrt")


def inverse_temperature(step: int, beta_max: float, steps: int, schedule: str) -> float:
    """beta at adversarial step `step` of a rise from 1 to `beta_max` over `steps` = N steps (the authors'
    `get_fixed_temperature`, their names `no`, `lin`, `exp`, ... in brackets):

        constant (no)   beta_max
        linear   (lin)  1 + n / (N - 1) (beta_max - 1)
        exp             beta_max ** (n / N)
        log             1 + (beta_max - 1) log(n + 1) / log N
        sigmoid         1 + (beta_max - 1) / (1 + exp((N / 2 - n) 20 / N))
        quad            1 + (beta_max - 1) n^2 / (N - 1)^2
        sqrt            1 + (beta_max - 1) sqrt(n / (N - 1))
    """
    n, b = step, beta_max
    if schedule == "constant":
        return b
    if schedule == "linear":
        return 1 + n / (steps - 1) * (b - 1)
    if schedule == "exp":
        return b ** (n / steps)
    if schedule == "log":
        return 1 + (b - 1) / math.log(steps) * math.log(n + 1)
    if schedule == "sigmoid":
        return (b - 1) / (1 + math.exp((steps / 2 - n) * 20 / steps)) + 1
    if schedule == "quad":
        return (b - 1) / (steps - 1) ** 2 * n ** 2 + 1
    if schedule == "sqrt":
        return (b - 1) / math.sqrt(steps - 1) * math.sqrt(n) + 1
    raise ValueError(f"unknown temperature schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")


class RelGAN(TextGANModule):
    """RelGAN with a relational-memory generator and a multi-representation CNN discriminator.

    Args:
        pretrain_epochs: MLE epochs before the adversarial phase (authors 150).
        adversarial_steps: adversarial steps (authors' oracle runs 3,000), each `g_steps` G and `d_steps` D
            updates (1 and 5).
        steps_per_epoch: adversarial steps per Lightning epoch (evaluation runs every `eval_every` epochs).
        loss: "rsgan" (the paper's), "standard" (non-saturating GAN) or "hinge".
        beta_max: the largest inverse temperature (the paper's table: 100 and 1000; its study: 1 to 1000).
        temperature_schedule: how beta rises from 1 to beta_max (`inverse_temperature`; the paper's "exp").
        temperature_steps: N of the schedule (the authors' 5,000; null: `adversarial_steps`). At least
            `adversarial_steps`, as the authors' code asserts.
        g_pretrain_optimizer, g_optimizer, d_optimizer: factories (`textgan.optim`) of G's MLE, G's adversarial
            and D's optimisers (the authors': Adam, lr 1e-2, 1e-4, 1e-4, betas (0.9, 0.999)).
        grad_clip: max gradient norm of every update (authors 5).
        num_eval_samples: samples per evaluation (the authors: 10,000).
    """

    phases = ("g_pretrain", "adversarial")

    def __init__(
        self,
        vocab: Vocabulary,
        generator: ModelFactory,
        discriminator: ModelFactory,
        seq_len: int,
        pretrain_epochs: NonNegativeInt = 150,
        adversarial_steps: NonNegativeInt = 3000,
        steps_per_epoch: PositiveInt = 20,
        g_steps: NonNegativeInt = 1,
        d_steps: NonNegativeInt = 5,
        loss: Literal["rsgan", "standard", "hinge"] = "rsgan",
        beta_max: PositiveFloat = 100.0,
        temperature_schedule: Literal["constant", "linear", "exp", "log", "sigmoid", "quad", "sqrt"] = "exp",
        temperature_steps: PositiveInt | None = 5000,
        g_pretrain_optimizer: OptimizerFactory = adam(lr=1e-2),
        g_optimizer: OptimizerFactory = adam(lr=1e-4),
        d_optimizer: OptimizerFactory = adam(lr=1e-4),
        grad_clip: NonNegativeFloat = 5.0,
        num_eval_samples: PositiveInt = 10_000,
    ):
        super().__init__(locals())
        if loss not in GAN_LOSSES:
            raise ConfigError(f"method.loss={loss!r} is not a RelGAN loss; choose one of {', '.join(GAN_LOSSES)}")
        if temperature_schedule not in SCHEDULES:
            raise ConfigError(f"method.temperature_schedule={temperature_schedule!r} is unknown; choose one of "
                              f"{', '.join(SCHEDULES)}")
        if temperature_steps is not None and temperature_steps < max(adversarial_steps, 2):
            raise ConfigError(f"method.temperature_steps={temperature_steps} is below method.adversarial_steps="
                              f"{adversarial_steps} (and must be at least 2): raise it, or set it to null to end the "
                              f"schedule at the last step")
        self.generator = generator(vocab_size=len(vocab), pad_id=vocab.pad_id, eos_id=vocab.eos_id)
        self.discriminator = discriminator(vocab_size=len(vocab))
        self.d_loss, self.g_loss = GAN_LOSSES[loss]

    # ------------------------------------------------------------------ schedule
    def phase_epochs(self) -> tuple[int, ...]:
        hp = self.hparams
        return hp.pretrain_epochs, -(-hp.adversarial_steps // hp.steps_per_epoch)

    def configure_optimizers(self):
        return [
            self.g_pretrain_optimizer(self.generator.parameters()),
            self.g_optimizer(self.generator.parameters()),
            self.d_optimizer(self.discriminator.parameters()),
        ]

    def beta_at(self, step: int) -> float:
        """The inverse temperature of adversarial step `step` (0 first)."""
        hp = self.hparams
        steps = hp.temperature_steps or max(hp.adversarial_steps, 2)
        return inverse_temperature(step, hp.beta_max, steps, hp.temperature_schedule)

    def adversarial_step_index(self, batch_idx: int) -> int:
        return (self.current_epoch - self.hparams.pretrain_epochs) * self.hparams.steps_per_epoch + batch_idx

    def on_train_start(self) -> None:
        hp, batches = self.hparams, int(self.trainer.num_training_batches)
        if hp.adversarial_steps and batches < min(hp.steps_per_epoch, hp.adversarial_steps):
            raise ConfigError(f"method.steps_per_epoch={hp.steps_per_epoch} needs as many training batches per "
                              f"epoch, the data gives {batches}: lower method.steps_per_epoch (one adversarial step "
                              f"per batch)")

    # ------------------------------------------------------------------ the algorithm
    def training_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        g_pretrain_opt, g_opt, d_opt = self.optimizers()
        if self.phase == "g_pretrain":
            self.log("progress/phase", float(self.phase_index()))
            self.log("train/g_mle_loss", self.mle_step(batch, g_pretrain_opt), prog_bar=True)
            return
        step = self.adversarial_step_index(batch_idx)
        if batch_idx >= self.hparams.steps_per_epoch or step >= self.hparams.adversarial_steps:
            return  # past this epoch's `steps_per_epoch` steps (fewer in the last epoch): the batch is not used
        beta = self.beta_at(step)
        losses = {}
        for i in range(self.hparams.g_steps):
            losses["train/g_loss"] = self.generator_step(batch if i == 0 else self.random_batch(len(batch)), beta,
                                                         g_opt)
        for _ in range(self.hparams.d_steps):
            losses["train/d_loss"] = self.discriminator_step(self.random_batch(len(batch)), beta, d_opt)
        # a row per step (`log_row`): `self.log` would write the last step's values again on every passed-over batch
        log_row(self, {**losses, "train/beta": beta, "progress/adversarial_step": float(step + 1),
                       "progress/phase": float(self.phase_index())})
        for name, value in losses.items():
            self.log(name, value, prog_bar=True, logger=False)

    def generator_step(self, real: torch.Tensor, beta: float, opt) -> torch.Tensor:
        """One G update: relaxed samples G(z) at inverse temperature `beta` against the real batch `real`
        `[batch, seq_len]`, loss L_G; D's gradient reaches G through the relaxed one-hots."""
        with self.toggled_optimizer(opt):
            _, fake = self.generator.relaxed_sample(len(real), real.shape[1], beta)
            loss = self.g_loss(self.discriminator(real), self.discriminator(fake))
            self.optimizer_step_with_clip(opt, loss)
        return loss.detach()

    def discriminator_step(self, real: torch.Tensor, beta: float, opt) -> torch.Tensor:
        """One D update: the real batch `real` against fresh relaxed samples (no gradient to G), loss L_D."""
        with self.toggled_optimizer(opt):
            with torch.no_grad():
                _, fake = self.generator.relaxed_sample(len(real), real.shape[1], beta)
            loss = self.d_loss(self.discriminator(real), self.discriminator(fake))
            self.optimizer_step_with_clip(opt, loss)
        return loss.detach()

    def random_batch(self, batch_size: int) -> torch.Tensor:
        """`batch_size` sequences of the training set drawn at random (without replacement within the batch)."""
        tokens = self.trainer.datamodule.train_tokens
        rows = torch.randperm(len(tokens))[:batch_size]
        return tokens[rows].to(self.device)

    def sample_metrics(self, samples: torch.Tensor) -> dict[str, float]:
        metrics = super().sample_metrics(samples)
        if self.phase == "adversarial":
            metrics["adversarial_step"] = float(min(self.adversarial_step_index(self.hparams.steps_per_epoch),
                                                    self.hparams.adversarial_steps))
        return metrics
