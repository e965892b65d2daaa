"""`SeqGAN` (Yu et al. 2017, Algorithm 1): G as a policy, D's score as the reward, Monte Carlo rollouts.

The three phases of `textgan.methods.adversarial.AdversarialTraining`, one Lightning epoch per unit of the
paper's schedule (the methods below name the lines of Algorithm 1 they carry out):

1. `g_pretrain`  (`g_pretrain_epochs`, paper 120): MLE on the real data (line 2).
2. `d_pretrain`  (`d_pretrain_rounds`, paper 50): one D step: a fresh pool, `d_epochs` (paper 3) epochs of D
   (lines 4-5).
3. `adversarial` (`adversarial_rounds`, paper 200): `g_steps` (1) policy-gradient steps with per-token rewards
   from `mc_rewards` (eq. 4 and 6), then `d_steps` (5) D steps, each a fresh pool and `d_epochs` epochs of D
   (lines 6-19, one round per epoch).

What D trains on is delivered as batches (`phase_data`): each batch of a D pre-training or adversarial epoch
is its share of the round's mixed batches of positives and generated negatives
(`textgan.methods.discriminator_pool`: the pools, as the authors' `Dis_dataloader`, with labels per example).
The real data batches only count the round's epoch; D's positives come from the training set inside the pools.
D trains with dropout (the discriminator's, 0.25) and scores rewards without it.

A round's G steps and pools belong to its first batch, not to `on_train_epoch_start`: Lightning calls that hook
before it draws the data loader's shuffling seed from the same random stream (so the numbers of a seed would
change), and skips it when it resumes an epoch.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch

from textgan.data.vocab import Vocabulary
from textgan.errors import ConfigError
from textgan.fast.cnn import PrefixSharingScorer
from textgan.losses import labelled_discriminator_loss, policy_gradient_loss
from textgan.masks import token_mask
from textgan.methods.adversarial import AdversarialTraining
from textgan.methods.base import ModelFactory, TextGANModule, log_row
from textgan.methods.discriminator_pool import DiscriminatorBatches, DiscriminatorPool, DiscriminatorRound, draw_pool
from textgan.models.cnn import CNNDiscriminator
from textgan.optim import OptimizerFactory, adam
from textgan.ranges import NonNegativeFloat, NonNegativeInt, PositiveInt, UnitInterval
from textgan.rollout import mc_rewards, update_rollout_policy


class SeqGAN(AdversarialTraining, TextGANModule):
    """SeqGAN with LSTM generator and CNN discriminator (built from the `generator`/`discriminator` factories).

    Args:
        g_pretrain_optimizer, g_adv_optimizer, d_optimizer: factories (`textgan.optim`) of the optimisers of G's
            MLE pre-training, G's policy-gradient steps and D (the authors': Adam, lr 0.01, 0.01, 1e-4).
        rollout_policy: "current" (rollouts sample from G itself: what the authors' TensorFlow code runs, hence
            the published numbers: its `ROLLOUT.update_params` builds new tensors that the rollout graph never
            reads) or "delayed" (the paper's text: a copy updated as
            `theta_roll <- rollout_update_rate * theta_roll + (1 - rate) * theta_G` after each G step).
        pg_baseline: subtract the batch-mean reward per position in the policy gradient.
        adv_batch_size: sequences per policy-gradient step (paper 64).
        d_batch_size: examples per mixed D batch (authors 64).
        d_pool_size: positives per D pool, a fresh random subset of the training set (None: all of it, as the
            authors); a budget knob for shortened schedules.
        num_negatives: negatives per D pool (None: as many as the pool's positives, as the authors).
        max_d_batches: mixed batches per D epoch (None: all, ceil((P + N) / d_batch_size)); a budget knob: the
            rest of the epoch is skipped.
        fast_discriminator: score the rollouts and compute D's logits in its updates with
            `textgan.fast.cnn.PrefixSharingScorer` over D's weights (the same values and gradients as
            `D.prob_real` and `D(x)`, less work); False, or a discriminator other than `CNNDiscriminator`: D itself.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        generator: ModelFactory,
        discriminator: ModelFactory,
        seq_len: int,
        g_pretrain_epochs: NonNegativeInt = 120,
        d_pretrain_rounds: NonNegativeInt = 50,
        adversarial_rounds: NonNegativeInt = 200,
        g_steps: NonNegativeInt = 1,
        d_steps: NonNegativeInt = 5,
        d_epochs: PositiveInt = 3,
        num_rollouts: PositiveInt = 16,
        g_pretrain_optimizer: OptimizerFactory = adam(lr=0.01),
        g_adv_optimizer: OptimizerFactory = adam(lr=0.01),
        d_optimizer: OptimizerFactory = adam(lr=1e-4),
        grad_clip: NonNegativeFloat = 5.0,
        pg_baseline: bool = False,
        rollout_policy: Literal["current", "delayed"] = "current",
        rollout_update_rate: UnitInterval = 0.8,
        adv_batch_size: PositiveInt = 64,
        num_negatives: PositiveInt | None = None,
        reward_batch_size: PositiveInt = 2048,
        max_d_batches: PositiveInt | None = None,
        num_eval_samples: PositiveInt = 10_000,
        d_batch_size: PositiveInt = 64,
        d_pool_size: PositiveInt | None = None,
        fast_discriminator: bool = True,
    ):
        super().__init__(locals())
        if rollout_policy not in ("current", "delayed"):
            raise ConfigError(f"method.rollout_policy must be 'current' or 'delayed', got {rollout_policy!r}")
        self.generator = generator(vocab_size=len(vocab), pad_id=vocab.pad_id, eos_id=vocab.eos_id)
        self.discriminator = discriminator(vocab_size=len(vocab), pad_id=vocab.pad_id)
        fast = PrefixSharingScorer(self.discriminator) if fast_discriminator and isinstance(
            self.discriminator, CNNDiscriminator) else None
        self.reward = fast or self.discriminator.prob_real  # D(y) of eq. 4
        # D's logits in its updates (a bound method: a module attribute would be a second copy in the state dict)
        self.d_logits = fast.logits if fast else self.discriminator.__call__
        # the delayed rollout network (None: rollouts sample from G); `hparams.rollout_policy` names the choice
        self.rollout_policy = copy.deepcopy(self.generator).requires_grad_(False) if rollout_policy == "delayed" \
            else None
        self.d_round: DiscriminatorRound | None = None  # the D steps of the current round (not checkpointed)

    # ------------------------------------------------------------------ schedule
    def phase_epochs(self) -> tuple[int, ...]:
        hp = self.hparams
        return hp.g_pretrain_epochs, hp.d_pretrain_rounds, hp.adversarial_rounds

    def configure_optimizers(self):
        return [
            self.g_pretrain_optimizer(self.generator.parameters()),
            self.g_adv_optimizer(self.generator.parameters()),
            self.d_optimizer(self.discriminator.parameters()),
        ]

    # ------------------------------------------------------------------ Algorithm 1, one round per epoch
    # (line 2, MLE pre-training, is `AdversarialTraining.training_step`'s first phase)
    def discriminator_pretraining_step(self, d_batches: DiscriminatorBatches, d_opt) -> None:
        """Lines 4-5: negatives from the pre-trained G, then D trained on them (one pool per round)."""
        if d_batches.opens_round:  # D pre-training's own x-axis (its rows carry no adversarial round)
            self.log("progress/d_pretrain_round", float(self.current_epoch - self.hparams.g_pretrain_epochs))
        self.train_discriminator(d_batches, d_opt)

    def adversarial_step(self, d_batches: DiscriminatorBatches, g_opt, d_opt) -> None:
        """Lines 6-18, one round per epoch: the round's first batch takes the `g_steps` policy-gradient steps
        (lines 7-13; the first round also sets the delayed rollout policy to the pre-trained G, line 3); every
        batch then trains D on its share of the round's `d_steps` pools, drawn from the current G (lines 14-17)."""
        if d_batches.opens_round:
            if self.rollout_policy is not None and self.adversarial_round == 0:
                self.rollout_policy.load_state_dict(self.generator.state_dict())
            for _ in range(self.hparams.g_steps):
                self.adversarial_generator_step(g_opt)
            self.log("progress/adversarial_round", float(self.adversarial_round))
        self.train_discriminator(d_batches, d_opt)

    def adversarial_generator_step(self, opt) -> None:
        """One policy-gradient step (lines 8-12): a batch Y ~ G, per-token rewards Q(y_<=t) from Monte Carlo
        rollouts (eq. 4), G updated along eq. 6; then line 18, as the delayed rollout policy's
        `rollout_update_rate` update towards G (`rollout_policy="current"` samples rollouts from G itself)."""
        hp = self.hparams
        samples = self.generator.sample(hp.adv_batch_size, self.seq_len)
        with self.discriminator_mode(training=False):  # rewards without dropout
            rewards = mc_rewards(self.rollout_policy or self.generator, self.reward, samples,
                                 hp.num_rollouts, hp.reward_batch_size)
        mask = token_mask(samples, self.vocab.pad_id)
        loss = policy_gradient_loss(self.generator.log_probs(samples), rewards, mask, hp.pg_baseline)
        self.optimizer_step_with_clip(opt, loss)
        if self.rollout_policy is not None:
            update_rollout_policy(self.rollout_policy, self.generator, hp.rollout_update_rate)
        mean_reward = rewards[:, -1].mean()
        # once per round: a row of its own (`log_row`), not repeated on the round's D rows; the bar shows it too
        log_row(self, {"train/g_pg_loss": loss.detach(), "train/mean_reward": mean_reward,
                       "progress/adversarial_round": float(self.adversarial_round),
                       "progress/phase": float(self.phase_index())})
        self.log("train/g_pg_loss", loss.detach(), prog_bar=True, logger=False)
        self.log("train/mean_reward", mean_reward, prog_bar=True, logger=False)

    # ------------------------------------------------------------------ the D pools of a round
    def phase_data(self, batch: torch.Tensor, batch_idx: int) -> DiscriminatorBatches:
        """This batch's share of the round's D training (lines 15-16): one pool per D pre-training round, `d_steps`
        per adversarial round, drawn from the current G when the round's first batch reads them.

        Pools are not checkpointed: a round resumed after its first batch (Lightning continuing a mid-epoch
        checkpoint that `restart_interrupted_epoch` did not rewind) draws them afresh from the checkpoint's G,
        which no D step of the round has changed."""
        num_pools = 1 if self.phase == "d_pretrain" else self.hparams.d_steps
        if batch_idx == 0 or self.d_round is None or self.d_round.num_pools != num_pools:
            self.d_round = DiscriminatorRound(num_pools, self.draw_pool, self.batches_per_epoch())
        return self.d_round.share(batch_idx)

    def positive_examples(self) -> torch.Tensor:
        """The real data D learns to accept: the datamodule's training set `[n, seq_len]`."""
        return self.trainer.datamodule.train_tokens

    def batches_per_epoch(self) -> int:
        """Batches of this Lightning epoch (the D updates of a round are spread over them)."""
        return max(1, int(self.trainer.num_training_batches))

    def draw_pool(self) -> DiscriminatorPool:
        """A fresh D pool: positives (all, or `d_pool_size` drawn afresh) and fresh negatives from the current G
        (`num_negatives`, default as many), with one random order of its P + N examples per D epoch."""
        hp = self.hparams
        return draw_pool(self.positive_examples(), self.generate, hp.d_epochs, hp.d_batch_size, hp.d_pool_size,
                         hp.num_negatives, hp.max_d_batches, self.device)

    def train_discriminator(self, d_batches: DiscriminatorBatches, opt) -> None:
        """One D update per mixed batch of `d_batches`, by eq. 5 (cross-entropy) plus D's L2 penalty (D in
        training mode: dropout on)."""
        loss = None
        with self.discriminator_mode(training=True):
            for tokens, labels in d_batches:
                loss = self.discriminator_update(tokens, labels, opt)
        if loss is not None:
            self.log("train/d_loss", loss, prog_bar=True)

    def discriminator_update(self, tokens: torch.Tensor, labels: torch.Tensor, opt) -> torch.Tensor:
        """One D update on `tokens` `[batch, seq_len]` with `labels` `[batch]` (1 real, 0 generated)."""
        loss = labelled_discriminator_loss(self.d_logits(tokens), labels) + self.discriminator.l2_penalty()
        self.optimizer_step_with_clip(opt, loss, clip=0.0)  # SeqGAN clips G's gradients only
        return loss.detach()
