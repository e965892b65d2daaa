"""`WGANGP`: Wasserstein GAN with gradient penalty for text (Gulrajani et al. 2017, Algorithm 1, section 5.2).

The generator emits a softmax over the vocabulary at every position at once; the critic reads one-hot real
sequences or those softmaxes, so the loss is differentiable end to end without sampling. Per G iteration:

    for t = 1..n_critic (10):
        x ~ real batch (one-hot), z ~ N(0, I), x~ = G(z), x^ = alpha x + (1 - alpha) x~, alpha ~ U[0, 1]
        L = D(x~) - D(x) + lambda (||grad_x^ D(x^)||_2 - 1)^2          (lambda = 10)
        Adam step on the critic (lr 1e-4, betas 0.5, 0.9)
    z ~ N(0, I); Adam step on the generator with loss -D(G(z))

Lightning mapping: every training batch is one critic step, and every `critic_steps`-th batch is followed by
one generator step in the same `training_step`. So each critic step sees a fresh real batch, as in the
original code (which draws a new batch per critic iteration), an epoch is one pass over the data, and
checkpoints, resume and the validation schedule keep their usual meaning. The counters (critic steps,
generator iterations) are buffers, so they survive a resume and the 10:1 rhythm carries over epoch boundaries;
`progress/generator_iteration` is logged because `trainer.global_step` counts both optimizers' steps.

Sequences have a fixed length; `<eos>` and `<pad>` are ordinary symbols here (the original pads with a filler
character). Evaluation: argmax-decoded samples, JS divergence of their character n-grams (n = 1..4) to the
training data (`val/js1`..`val/js4`) and the floor `val/js<n>_real_floor` (the same number of held-out real
sequences against the training data): the metric `textgan.metrics.objects.NgramJS`, which `method=wgan_gp`
adds to the run's `metrics:` (`conf/metrics/method/ngram_js.yaml`). The generator has no `log_probs`, so
NLL-test is not computed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from textgan.data.vocab import Vocabulary
from textgan.losses import gradient_penalty, wasserstein_critic_loss, wasserstein_generator_loss
from textgan.methods.base import ModelFactory, TextGANModule
from textgan.optim import OptimizerFactory, adam
from textgan.ranges import NonNegativeFloat, NonNegativeInt, PositiveInt


class WGANGP(TextGANModule):
    """WGAN-GP with a conv-ResNet generator and critic (built from the `generator`/`critic` factories).

    Args:
        epochs: passes over the training data (each real batch is one critic step).
        critic_steps: critic steps per generator step (paper 10).
        gp_weight: lambda (paper 10).
        g_optimizer, critic_optimizer: factories (`textgan.optim`) of the two networks' optimisers (paper: Adam,
            lr 1e-4, betas (0.5, 0.9), both).
        num_eval_samples: samples per evaluation (the original code: 10 batches of 64 = 640); the JS floor
            (`conf/metrics/method/ngram_js.yaml`) uses as many held-out sequences, since the JS of sparse n-gram
            counts depends on the sample size.
    """

    phases = ("adversarial",)

    def __init__(
        self,
        vocab: Vocabulary,
        generator: ModelFactory,
        critic: ModelFactory,
        seq_len: int,
        epochs: NonNegativeInt = 100,
        critic_steps: PositiveInt = 10,
        gp_weight: NonNegativeFloat = 10.0,
        g_optimizer: OptimizerFactory = adam(lr=1e-4, betas=(0.5, 0.9)),
        critic_optimizer: OptimizerFactory = adam(lr=1e-4, betas=(0.5, 0.9)),
        num_eval_samples: PositiveInt = 640,
    ):
        super().__init__(locals())  # no `grad_clip`: WGAN-GP's updates are not clipped
        self.generator = generator(vocab_size=len(vocab), seq_len=seq_len)
        self.critic = critic(vocab_size=len(vocab), seq_len=seq_len)
        self.register_buffer("critic_step_count", torch.zeros((), dtype=torch.long))
        self.register_buffer("generator_iteration", torch.zeros((), dtype=torch.long))
        self._host_critic_steps: int | None = None  # host copy of critic_step_count (read once, then counted)

    def phase_epochs(self) -> tuple[int, ...]:
        return (self.hparams.epochs,)

    def configure_optimizers(self):
        return [
            self.g_optimizer(self.generator.parameters()),
            self.critic_optimizer(self.critic.parameters()),
        ]

    # ------------------------------------------------------------------ training
    def one_hot(self, tokens: torch.Tensor) -> torch.Tensor:
        """`[batch, seq_len]` ids -> `[batch, seq_len, vocab]` float32 one-hots (the critic's real inputs)."""
        if tokens.shape[1] != self.seq_len:
            raise ValueError(f"real batches have length {tokens.shape[1]} but method.seq_len is "
                             f"{self.seq_len}; set data.seq_len (WGAN-GP's text benchmark: 32)")
        return F.one_hot(tokens, len(self.vocab)).float()

    def on_train_start(self) -> None:
        self._host_critic_steps = None  # re-read from the (possibly restored) buffer at the first batch

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        g_opt, c_opt = self.optimizers()
        self.critic_step(self.one_hot(batch), c_opt)
        self.critic_step_count += 1
        if self._host_critic_steps is None:  # once per fit / restore: the buffer lives on the device
            self._host_critic_steps = int(self.critic_step_count) - 1
        self._host_critic_steps += 1  # its host-side copy, so the rhythm costs no device-to-host read per batch
        if self._host_critic_steps % self.hparams.critic_steps == 0:
            self.generator_step(len(batch), g_opt)
            self.generator_iteration += 1
        self.log("progress/generator_iteration", self.generator_iteration.float())

    def critic_step(self, real: torch.Tensor, opt) -> None:
        """One critic update: real one-hots `[batch, seq_len, vocab]` against fresh generator softmaxes."""
        with torch.no_grad():
            fake = self.generator(self.generator.noise(len(real)))
        with self.toggled_optimizer(opt):
            w_loss = wasserstein_critic_loss(self.critic(real), self.critic(fake))
            penalty = gradient_penalty(self.critic, real, fake)
            loss = w_loss + self.hparams.gp_weight * penalty
            self.optimizer_step_with_clip(opt, loss, clip=0.0)
        self.log("train/critic_loss", loss.detach(), prog_bar=True)
        self.log("train/wasserstein_estimate", -w_loss.detach(), prog_bar=True)
        self.log("train/gradient_penalty", penalty.detach())

    def generator_step(self, batch_size: int, opt) -> None:
        """One generator update: minimise `-D(G(z))`."""
        with self.toggled_optimizer(opt):
            loss = wasserstein_generator_loss(self.critic(self.generator(self.generator.noise(batch_size))))
            self.optimizer_step_with_clip(opt, loss, clip=0.0)
        self.log("train/generator_loss", loss.detach())

    # ------------------------------------------------------------------ evaluation
    def sample_metrics(self, samples: torch.Tensor) -> dict[str, float]:
        metrics = super().sample_metrics(samples)
        metrics["generator_iteration"] = float(self.generator_iteration)  # the x-axis of the JS curves
        return metrics
