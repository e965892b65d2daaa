"""`SeqGAN` (Yu et al. 2017, Algorithm 1): G as a policy, D's score as the reward, Monte Carlo rollouts.

One Lightning epoch is one unit of the paper's schedule, so the phase follows from `current_epoch` and a resumed
checkpoint continues in the right phase:

1. `g_pretrain`  (`g_pretrain_epochs`, paper 120): MLE on the real data.
2. `d_pretrain`  (`d_pretrain_rounds`, paper 50): sample a fresh set of negatives as large as the training set,
   train D on positives + negatives for `d_epochs` (paper 3) epochs.
3. `adversarial` (`adversarial_rounds`, paper 200): `g_steps` (1) policy-gradient steps with per-token rewards
   from `mc_rewards` (eq. 4 and 6), then `d_steps` (5) times: fresh negatives, `d_epochs` (3) epochs of D.

In D epochs every real batch is paired with a batch of negatives; `d_epochs` passes over a pool are interleaved
batch by batch (each pass in its own random order), which is the same work as the paper's sequential epochs.
All pools of a round are drawn right after the G step, from the same G, as in the paper.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch

from textgan.data.vocab import Vocabulary
from textgan.fast.cnn import PrefixSharingScorer
from textgan.losses import discriminator_loss, policy_gradient_loss
from textgan.masks import token_mask
from textgan.methods.base import TextGANModule
from textgan.models.cnn import CNNDiscriminator
from textgan.rollout import mc_rewards, update_rollout_policy


class SeqGAN(TextGANModule):
    """SeqGAN with LSTM generator and CNN discriminator (built from the `generator`/`discriminator` factories).

    Args:
        rollout_policy: "current" (rollouts from G itself) or "delayed" (a copy updated as
            `theta_roll <- rollout_update_rate * theta_roll + (1 - rate) * theta_G` after each G step, as SeqGAN's
            paper and code describe it).
        pg_baseline: subtract the batch-mean reward per position in the policy gradient.
        adv_batch_size: sequences per policy-gradient step (paper 64).
        num_negatives: negatives per D pool (None: as many as the training set, as in the paper).
        max_d_batches: real batches per D epoch (None: the whole training set, as in the paper); a budget knob
            for shortened schedules: the remaining batches of the epoch are skipped.
        fast_discriminator: score the rollouts and compute D's logits in its updates with
            `textgan.fast.cnn.PrefixSharingScorer` over D's weights (the same values and gradients as
            `D.prob_real` and `D(x)`, less work); False, or a discriminator other than `CNNDiscriminator`: D itself.
    """

    phases = ("g_pretrain", "d_pretrain", "adversarial")

    def __init__(
        self,
        vocab: Vocabulary,
        generator: Callable[..., torch.nn.Module],
        discriminator: Callable[..., torch.nn.Module],
        seq_len: int,
        g_pretrain_epochs: int = 120,
        d_pretrain_rounds: int = 50,
        adversarial_rounds: int = 200,
        g_steps: int = 1,
        d_steps: int = 5,
        d_epochs: int = 3,
        num_rollouts: int = 16,
        g_pretrain_lr: float = 0.01,
        g_adv_lr: float = 0.01,
        d_lr: float = 1e-4,
        grad_clip: float = 5.0,
        pg_baseline: bool = False,
        rollout_policy: str = "current",
        rollout_update_rate: float = 0.8,
        adv_batch_size: int = 64,
        num_negatives: int | None = None,
        reward_batch_size: int = 2048,
        max_d_batches: int | None = None,
        num_eval_samples: int = 10_000,
        fast_discriminator: bool = True,
    ):
        super().__init__(vocab, seq_len, num_eval_samples, grad_clip)
        if rollout_policy not in ("current", "delayed"):
            raise ValueError(f"method.rollout_policy must be 'current' or 'delayed', got {rollout_policy!r}")
        self.save_hyperparameters(ignore=["vocab", "generator", "discriminator"])
        self.generator = generator(vocab_size=len(vocab), pad_id=vocab.pad_id, eos_id=vocab.eos_id)
        self.discriminator = discriminator(vocab_size=len(vocab), pad_id=vocab.pad_id)
        fast = PrefixSharingScorer(self.discriminator) if fast_discriminator and isinstance(
            self.discriminator, CNNDiscriminator) else None
        self.reward = fast or self.discriminator.prob_real  # D(y) of eq. 4
        # D's logits in its updates (a bound method: a module attribute would be a second copy in the state dict)
        self.d_logits = fast.logits if fast else self.discriminator.__call__
        self.rollout_policy = copy.deepcopy(self.generator).requires_grad_(False) if rollout_policy == "delayed" \
            else None
        self.g_pretrain_epochs, self.d_pretrain_rounds = g_pretrain_epochs, d_pretrain_rounds
        self.adversarial_rounds = adversarial_rounds
        self.g_steps, self.d_steps, self.d_epochs = g_steps, d_steps, d_epochs
        self.num_rollouts, self.pg_baseline = num_rollouts, pg_baseline
        self.rollout_update_rate, self.adv_batch_size = rollout_update_rate, adv_batch_size
        self.num_negatives, self.reward_batch_size = num_negatives, reward_batch_size
        self.max_d_batches = max_d_batches
        self.g_pretrain_lr, self.g_adv_lr, self.d_lr = g_pretrain_lr, g_adv_lr, d_lr
        self._pools: list[torch.Tensor] = []
        self._orders: list[list[torch.Tensor]] = []

    # ------------------------------------------------------------------ schedule
    def phase_epochs(self) -> tuple[int, ...]:
        return self.g_pretrain_epochs, self.d_pretrain_rounds, self.adversarial_rounds

    @property
    def adversarial_round(self) -> int:
        return self.current_epoch - self.g_pretrain_epochs - self.d_pretrain_rounds

    def configure_optimizers(self):
        return [
            torch.optim.Adam(self.generator.parameters(), lr=self.g_pretrain_lr),
            torch.optim.Adam(self.generator.parameters(), lr=self.g_adv_lr),
            torch.optim.Adam(self.discriminator.parameters(), lr=self.d_lr),
        ]

    # ------------------------------------------------------------------ training
    def training_step(self, batch: torch.Tensor, batch_idx: int) -> None:
        g_pre_opt, g_adv_opt, d_opt = self.optimizers()
        phase = self.phase
        self.log("progress/phase", float(self.phase_index()))
        if phase == "g_pretrain":
            self.log("train/g_mle_loss", self.mle_step(batch, g_pre_opt), prog_bar=True)
            return
        num_pools = 1 if phase == "d_pretrain" else self.d_steps
        if batch_idx == 0:
            if phase == "adversarial":
                if self.rollout_policy is not None and self.adversarial_round == 0:
                    self.rollout_policy.load_state_dict(self.generator.state_dict())  # start from pre-trained G
                for _ in range(self.g_steps):
                    self.adversarial_generator_step(g_adv_opt)
                self.log("progress/adversarial_round", float(self.adversarial_round))
            self.draw_negative_pools(num_pools)
        elif len(self._pools) != num_pools:  # resumed mid-epoch: pools are drawn at batch 0, not checkpointed
            self.draw_negative_pools(num_pools)
        if self.max_d_batches is None or batch_idx < self.max_d_batches:
            self.discriminator_steps(batch, batch_idx, d_opt)

    def adversarial_generator_step(self, opt) -> None:
        """One policy-gradient step (eq. 6) with Monte Carlo per-token rewards (eq. 4)."""
        samples = self.generator.sample(self.adv_batch_size, self.seq_len)
        was_training = self.discriminator.training
        self.discriminator.eval()  # rewards without dropout
        rewards = mc_rewards(self.rollout_policy or self.generator, self.reward, samples,
                             self.num_rollouts, self.reward_batch_size)
        self.discriminator.train(was_training)
        mask = token_mask(samples, self.vocab.pad_id)
        loss = policy_gradient_loss(self.generator.log_probs(samples), rewards, mask, self.pg_baseline)
        self.optimizer_step_with_clip(opt, loss)
        if self.rollout_policy is not None:
            update_rollout_policy(self.rollout_policy, self.generator, self.rollout_update_rate)
        self.log("train/g_pg_loss", loss.detach(), prog_bar=True)
        self.log("train/mean_reward", rewards[:, -1].mean(), prog_bar=True)

    def draw_negative_pools(self, num_pools: int) -> None:
        """Sample `num_pools` sets of negatives from the current G, each with `d_epochs` random orders."""
        n = self.num_negatives or len(self.trainer.datamodule.train_tokens)
        self._pools = [self.generate(n).to(self.device) for _ in range(num_pools)]
        self._orders = [[torch.randperm(n, device=self.device) for _ in range(self.d_epochs)] for _ in self._pools]

    def discriminator_steps(self, real: torch.Tensor, batch_idx: int, opt) -> None:
        """`len(pools) * d_epochs` D updates on this real batch, each against the next slice of negatives."""
        b = len(real)
        for pool, orders in zip(self._pools, self._orders):
            for order in orders:
                idx = order[(batch_idx * b) % len(order):][:b]
                fake = pool[idx]
                loss = discriminator_loss(self.d_logits(real), self.d_logits(fake))
                loss = loss + self.discriminator.l2_penalty()
                self.optimizer_step_with_clip(opt, loss, clip=0.0)  # SeqGAN clips G's gradients only
        self.log("train/d_loss", loss.detach(), prog_bar=True)
