"""`SeqGAN` (Yu et al. 2017, Algorithm 1): G as a policy, D's score as the reward, Monte Carlo rollouts.

The three phases of `textgan.methods.adversarial.AdversarialTraining`, one Lightning epoch per unit of the
paper's schedule (the methods below name the lines of Algorithm 1 they carry out):

1. `g_pretrain`  (`g_pretrain_epochs`, paper 120): MLE on the real data (line 2).
2. `d_pretrain`  (`d_pretrain_rounds`, paper 50): one D step: a fresh pool, `d_epochs` (paper 3) epochs of D
   (lines 4-5).
3. `adversarial` (`adversarial_rounds`, paper 200): `g_steps` (1) policy-gradient steps with per-token rewards
   from `mc_rewards` (eq. 4 and 6), then `d_steps` (5) D steps, each a fresh pool and `d_epochs` epochs of D
   (lines 6-19, one round per epoch).

A round's G steps and pools belong to its first batch, not to `on_train_epoch_start`: Lightning calls that hook
before it draws the data loader's shuffling seed from the same random stream (so the numbers of a seed would
change), and skips it when it resumes an epoch.

A D pool, as the authors' code (`Dis_dataloader`): the positives (the whole training set, or `d_pool_size` of it)
and as many fresh negatives sampled from G, labelled per example (1 real, 0 generated). A D epoch goes over
`shuffle(positives ∪ negatives)` in mixed batches of `d_batch_size` (64): ceil((P + N) / 64) updates, every
example exactly once. (The authors' loader shuffles once per pool and drops the remainder; with their 9,984 +
9,984 examples there is none.) D trains with dropout (the discriminator's, 0.25) and scores rewards without it.
The D updates of a round are spread evenly over the batches of its Lightning epoch (the real batches themselves
are not used there), so the progress bar and a mid-epoch checkpoint follow the work. All pools of a round are drawn
right after the G step, from the same G, as in the paper and code.
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
from textgan.models.cnn import CNNDiscriminator
from textgan.optim import OptimizerFactory, adam, check_optimizers, plain
from textgan.ranges import NonNegativeFloat, NonNegativeInt, PositiveInt, UnitInterval, check_arguments
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
        check_arguments(SeqGAN, locals(), "method")
        check_optimizers(locals())
        super().__init__(vocab, seq_len, num_eval_samples, grad_clip)
        if rollout_policy not in ("current", "delayed"):
            raise ConfigError(f"method.rollout_policy must be 'current' or 'delayed', got {rollout_policy!r}")
        # logger=False: train.py logs the whole run config once (the checkpoint still holds these)
        self.save_hyperparameters(ignore=["vocab", "generator", "discriminator", "g_pretrain_optimizer",
                                          "g_adv_optimizer", "d_optimizer"], logger=False)
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
        self.g_pretrain_optimizer, self.g_adv_optimizer = plain(g_pretrain_optimizer), plain(g_adv_optimizer)
        self.d_optimizer = plain(d_optimizer)
        self._pools: list[torch.Tensor] = []  # negatives of each D step of the round, [N, seq_len]
        self._positives: list[torch.Tensor] = []  # positives of each pool, [P, seq_len]
        self._orders: list[list[torch.Tensor]] = []  # per pool, one permutation of its P + N examples per D epoch

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
    def discriminator_pretraining_step(self, batch: torch.Tensor, batch_idx: int, d_opt) -> None:
        """Lines 4-5: negatives from the pre-trained G, then D trained on them (one pool per round)."""
        if batch_idx == 0:  # D pre-training's own x-axis (its rows carry no adversarial round)
            self.log("progress/d_pretrain_round", float(self.current_epoch - self.hparams.g_pretrain_epochs))
        self.discriminator_round_step(batch_idx, 1, d_opt)

    def adversarial_step(self, batch: torch.Tensor, batch_idx: int, g_opt, d_opt) -> None:
        """Lines 6-18, one round per epoch: the round's first batch takes the `g_steps` policy-gradient steps
        (lines 7-13; the first round also sets the delayed rollout policy to the pre-trained G, line 3); every
        batch then does its share of the round's `d_steps` D steps (lines 14-17)."""
        if batch_idx == 0:
            if self.rollout_policy is not None and self.adversarial_round == 0:
                self.rollout_policy.load_state_dict(self.generator.state_dict())
            for _ in range(self.hparams.g_steps):
                self.adversarial_generator_step(g_opt)
            self.log("progress/adversarial_round", float(self.adversarial_round))
        self.discriminator_round_step(batch_idx, self.hparams.d_steps, d_opt)

    def discriminator_round_step(self, batch_idx: int, num_pools: int, d_opt) -> None:
        """This batch's share of a round's D training: `num_pools` pools drawn from the current G at the round's
        first batch (line 15), then D's updates on them (line 16), spread evenly over the round's batches.

        Pools are not checkpointed: a round resumed after its first batch (Lightning continuing a mid-epoch
        checkpoint that `restart_interrupted_epoch` did not rewind) draws them afresh from the checkpoint's G,
        which no D step of the round has changed."""
        if batch_idx == 0 or len(self._pools) != num_pools:
            self.draw_negative_pools(num_pools)
        total, batches = self.num_d_updates(), self.batches_per_epoch()
        self.discriminator_steps(range(batch_idx * total // batches, min(total, (batch_idx + 1) * total // batches)),
                                 d_opt)

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
    def positive_examples(self) -> torch.Tensor:
        """The real data D learns to accept: the datamodule's training set `[n, seq_len]`."""
        return self.trainer.datamodule.train_tokens

    def batches_per_epoch(self) -> int:
        """Batches of this Lightning epoch (the D updates of a round are spread over them)."""
        return max(1, int(self.trainer.num_training_batches))

    def draw_negative_pools(self, num_pools: int) -> None:
        """`num_pools` D pools: positives (all, or `d_pool_size` drawn afresh) and fresh negatives from the current
        G (`num_negatives`, default as many), with one random order of the pool's P + N examples per D epoch."""
        hp, real = self.hparams, self.positive_examples()
        self._pools, self._positives, self._orders = [], [], []
        for _ in range(num_pools):
            pos = real if hp.d_pool_size is None else \
                real[torch.randperm(len(real))[: hp.d_pool_size].to(real.device)]
            neg = self.generate(hp.num_negatives or len(pos)).to(self.device)
            self._positives.append(pos.to(self.device))
            self._pools.append(neg)
            n = len(pos) + len(neg)
            self._orders.append([torch.randperm(n, device=self.device) for _ in range(hp.d_epochs)])

    def d_batches_per_epoch(self) -> int:
        """Mixed batches per D epoch of one pool: ceil((P + N) / d_batch_size), at most `max_d_batches`."""
        hp, n = self.hparams, len(self._positives[0]) + len(self._pools[0])
        full = -(-n // hp.d_batch_size)
        return full if hp.max_d_batches is None else min(full, hp.max_d_batches)

    def num_d_updates(self) -> int:
        """D updates of this round: pools x `d_epochs` x batches per D epoch (none with `d_steps=0`)."""
        return len(self._pools) * self.hparams.d_epochs * self.d_batches_per_epoch() if self._pools else 0

    def d_batch(self, update: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens `[<= d_batch_size, seq_len]` and labels (1 real, 0 generated) of D update number `update` of the
        round: pool by pool, epoch by epoch, batch by batch, as the authors' loops."""
        per_epoch, size = self.d_batches_per_epoch(), self.hparams.d_batch_size
        pool, rest = divmod(update, self.hparams.d_epochs * per_epoch)
        epoch, batch = divmod(rest, per_epoch)
        pos, neg = self._positives[pool], self._pools[pool]
        idx = self._orders[pool][epoch][batch * size:(batch + 1) * size]
        is_real = idx < len(pos)
        tokens = torch.where(is_real[:, None], pos[idx.clamp(max=len(pos) - 1)],
                             neg[(idx - len(pos)).clamp(min=0)])
        return tokens, is_real.long()

    def discriminator_steps(self, updates: range, opt) -> None:
        """D updates number `updates` of the round, one mixed batch each, by eq. 5 (cross-entropy) plus D's L2
        penalty (D in training mode: dropout on)."""
        loss = None
        with self.discriminator_mode(training=True):
            for update in updates:
                tokens, labels = self.d_batch(update)
                loss = labelled_discriminator_loss(self.d_logits(tokens), labels)
                loss = loss + self.discriminator.l2_penalty()
                self.optimizer_step_with_clip(opt, loss, clip=0.0)  # SeqGAN clips G's gradients only
        if loss is not None:
            self.log("train/d_loss", loss.detach(), prog_bar=True)
