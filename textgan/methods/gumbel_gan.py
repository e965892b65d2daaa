"""`GumbelGAN`: a GAN on discrete sequences through the Gumbel-softmax relaxation (Kusner & Hernandez-Lobato
2016, Algorithm in section 3).

The generator (`textgan.models.gumbel_lstm.GumbelLSTMGenerator`) emits relaxed one-hot vectors
y_t = softmax((logits_t + g_t) / tau), g ~ Gumbel(0, 1), and feeds them back through its embedding; the
discriminator reads one-hot real sequences or these relaxed ones. Per training batch:

    D step: minimise -log D(x) - log(1 - D(G(z)))        (x: real one-hots, G(z) detached)
    G step: minimise -log D(G(z))                         (the non-saturating loss, Goodfellow et al. 2014)

The temperature follows the annealing schedule of Jang et al. (2017, section 4), which the paper proposes:

    tau(i) = max(tau_min, tau_start * exp(-tau_anneal_rate * i_k)),   i_k = i rounded down to a multiple of
    tau_anneal_every, i = generator iterations done

and `straight_through=True` uses hard one-hots in the forward pass with the soft sample's gradient.
Sequences have a fixed length (`<eos>` then `<pad>` one-hots in the real data); evaluation draws discrete
samples (the tau -> 0 limit, `<pad>` after `<eos>`) and scores them with the run's metrics (the CFG data:
`val/cfg_valid`, `val/unique`, `val/novel`; NLL-oracle on the oracle data).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from textgan.data.vocab import Vocabulary
from textgan.errors import ConfigError
from textgan.losses import gan_discriminator_loss, nonsaturating_generator_loss
from textgan.methods.base import ModelFactory, TextGANModule
from textgan.optim import OptimizerFactory, adam
from textgan.ranges import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt


def tau_schedule(
    iteration: int, tau_start: float, tau_min: float, anneal_rate: float, anneal_every: int
) -> float:
    """The temperature after `iteration` generator iterations (Jang et al. 2017's exponential annealing)."""
    step = (iteration // max(anneal_every, 1)) * max(anneal_every, 1)
    return max(tau_min, tau_start * math.exp(-anneal_rate * step))


class GumbelGAN(TextGANModule):
    """Gumbel-softmax GAN with an LSTM generator and an LSTM discriminator.

    Args:
        epochs: passes over the data; every batch is one D step and one G step.
        g_optimizer, d_optimizer: factories (`textgan.optim`) of the two networks' optimisers (default Adam,
            lr 1e-3, betas (0.5, 0.999), both).
        tau_start, tau_min, tau_anneal_rate, tau_anneal_every: the temperature schedule (see `tau_schedule`).
        straight_through: hard one-hot forward, soft backward.
        grad_clip: max gradient norm of both networks' updates (0: none).
    """

    phases = ("adversarial",)

    def __init__(
        self,
        vocab: Vocabulary,
        generator: ModelFactory,
        discriminator: ModelFactory,
        seq_len: int,
        epochs: NonNegativeInt = 50,
        g_optimizer: OptimizerFactory = adam(lr=1e-3, betas=(0.5, 0.999)),
        d_optimizer: OptimizerFactory = adam(lr=1e-3, betas=(0.5, 0.999)),
        tau_start: PositiveFloat = 5.0,
        tau_min: PositiveFloat = 0.5,
        tau_anneal_rate: NonNegativeFloat = 1e-3,
        tau_anneal_every: PositiveInt = 100,
        straight_through: bool = False,
        grad_clip: NonNegativeFloat = 5.0,
        num_eval_samples: PositiveInt = 1000,
    ):
        super().__init__(locals())
        if not 0 < tau_min <= tau_start:
            raise ConfigError(f"need 0 < method.tau_min <= method.tau_start, got {tau_min} and {tau_start}")
        self.generator = generator(vocab_size=len(vocab), pad_id=vocab.pad_id, eos_id=vocab.eos_id)
        self.discriminator = discriminator(vocab_size=len(vocab))
        self.register_buffer("generator_iteration", torch.zeros((), dtype=torch.long))
        self._host_iteration: int | None = None  # host copy of generator_iteration during fit (read once)

    def phase_epochs(self) -> tuple[int, ...]:
        return (self.hparams.epochs,)

    @property
    def tau(self) -> float:
        return self.tau_at(int(self.generator_iteration))

    def tau_at(self, iteration: int) -> float:
        """The Gumbel-softmax temperature after `iteration` generator iterations (`tau_schedule`)."""
        hp = self.hparams
        return tau_schedule(iteration, hp.tau_start, hp.tau_min, hp.tau_anneal_rate, hp.tau_anneal_every)

    def configure_optimizers(self):
        return [
            self.g_optimizer(self.generator.parameters()),
            self.d_optimizer(self.discriminator.parameters()),
        ]

    def on_train_start(self) -> None:
        self._host_iteration = None  # re-read from the (possibly restored) buffer at the first batch

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        g_opt, d_opt = self.optimizers()
        real = F.one_hot(batch, len(self.vocab)).float()
        if self._host_iteration is None:  # once per fit: the buffer lives on the device
            self._host_iteration = int(self.generator_iteration)
        tau, b, t = self.tau_at(self._host_iteration), len(batch), batch.shape[1]

        with self.toggled_optimizer(d_opt):
            with torch.no_grad():
                fake = self.generator(b, t, tau, self.hparams.straight_through)
            d_loss = gan_discriminator_loss(self.discriminator(real), self.discriminator(fake))
            self.optimizer_step_with_clip(d_opt, d_loss)

        with self.toggled_optimizer(g_opt):
            g_loss = nonsaturating_generator_loss(
                self.discriminator(self.generator(b, t, tau, self.hparams.straight_through))
            )
            self.optimizer_step_with_clip(g_opt, g_loss)
        self.generator_iteration += 1
        self._host_iteration += 1  # counted on the host too: no device-to-host read per batch

        self.log("train/d_loss", d_loss.detach(), prog_bar=True)
        self.log("train/g_loss", g_loss.detach(), prog_bar=True)
        self.log("train/tau", tau)
        self.log("progress/generator_iteration", self.generator_iteration.float())

    def sample_metrics(self, samples: torch.Tensor) -> dict[str, float]:
        metrics = super().sample_metrics(samples)
        metrics["generator_iteration"] = float(self.generator_iteration)
        return metrics
