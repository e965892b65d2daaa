"""`DialogueSeqGAN`: adversarial dialogue generation (Li et al. 2017, "Adversarial Learning for Neural
Dialogue Generation", Algorithm 1).

A seq2seq generator G (the policy) answers a context x with y ~ G(.|x); a hierarchical discriminator D
(`textgan.models.hierarchical`) outputs Q_+({x, y}), the probability that the response is human, which is G's
reward. The phases of `textgan.methods.adversarial.AdversarialTraining` (one Lightning epoch = one pass over the
training pairs; the adversarial phase runs one iteration of the paper's Algorithm 1 per batch):

1. `g_pretrain` (`g_pretrain_epochs`): MLE on the human pairs. Set it to 0 and give `pretrained_ckpt` (a
   `method=seq2seq` checkpoint) to start from an already trained MLE model instead (the generator weights are
   loaded when fitting starts, unless the run resumes from its own checkpoint).
2. `d_pretrain` (`d_pretrain_epochs`): D learns human vs. sampled responses.
3. `adversarial` (`adversarial_epochs`): for every batch of pairs (x, y):
   - `d_steps` times: sample y' ~ G(.|x), one D step (human (x, y) labelled 1, (x, y') labelled 0);
   - `g_steps` times: sample y' ~ G(.|x) and update G by REINFORCE (eq. 3):
         grad J = sum_t (Q(x, y'_<=t) - b_t) grad log G(y'_t | x, y'_<t)
     with `reward=sequence` ("Adver-Reinforce": Q = Q_+({x, y'}) for every token) or `reward=regs` (reward for
     every generation step: Q(x, y'_<=t) is the mean of D over `num_rollouts` Monte Carlo completions of the
     prefix, `textgan.rollout.mc_rewards`, conditioned on x); b_t is a running mean of the reward at position
     t (`baseline=running_mean`, decay `baseline_decay`) or 0 (`baseline=none`);
     then teacher forcing (sec. 3.3): the human response y gets reward 1, i.e. a step on
     `-teacher_forcing_weight * sum_t log G(y_t | x, y_<t)` (0 disables it).
"""

from __future__ import annotations

from typing import Literal, get_args

import torch

from textgan.data.vocab import Vocabulary
from textgan.decoding import DecodingSettings
from textgan.dialogue.simulation import SimulationSettings
from textgan.errors import ConfigError
from textgan.losses import discriminator_loss, policy_gradient_loss
from textgan.methods.adversarial import AdversarialTraining
from textgan.methods.base import ModelFactory
from textgan.methods.seq2seq import DialogueMethod
from textgan.optim import OptimizerFactory, adam
from textgan.ranges import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, UnitInterval
from textgan.rollout import mc_rewards, takes_source_row

Reward = Literal["regs", "sequence"]
Baseline = Literal["running_mean", "none"]
REWARDS, BASELINES = get_args(Reward), get_args(Baseline)


class DialogueSeqGAN(AdversarialTraining, DialogueMethod):
    """Li et al. (2017): seq2seq generator, hierarchical discriminator, REINFORCE with Adver-Reinforce or REGS
    rewards, a baseline and teacher forcing. Defaults follow the paper where it gives a value (D-steps 5,
    G-steps 1, 5 rollouts for REGS); see the module docstring for the algorithm.

    Args:
        generator, discriminator: `_partial_` model factories (`Seq2Seq`, `HierarchicalDiscriminator`).
        pretrained_ckpt: a `method=seq2seq` (or `dialogue_seqgan`) checkpoint whose generator starts training.
        g_pretrain_optimizer, g_adv_optimizer, d_optimizer: factories (`textgan.optim`) of the optimisers of G's
            MLE pre-training, G's REINFORCE and teacher-forcing steps, and D (default Adam, 1e-3, 1e-4, 1e-3).
        sample_temperature: temperature of the responses G samples for D and for the policy gradient.
        adv_batch_size: contexts per G step (null: the whole data batch).
        reward_batch_size: D's batch inside the rollouts (rounded down to a multiple of the G batch).
        grad_clip, num_eval_samples, decoding, simulation: as in `Seq2SeqMLE`.

    The settings are read from `self.hparams` (Lightning's `save_hyperparameters`).
    """

    def __init__(
        self,
        vocab: Vocabulary,
        generator: ModelFactory,
        discriminator: ModelFactory,
        seq_len: int,
        g_pretrain_epochs: NonNegativeInt = 10,
        d_pretrain_epochs: NonNegativeInt = 1,
        adversarial_epochs: NonNegativeInt = 5,
        pretrained_ckpt: str | None = None,
        reward: Reward = "regs",
        num_rollouts: PositiveInt = 5,
        d_steps: NonNegativeInt = 5,
        g_steps: NonNegativeInt = 1,
        teacher_forcing_weight: NonNegativeFloat = 1.0,
        baseline: Baseline = "running_mean",
        baseline_decay: UnitInterval = 0.95,
        sample_temperature: PositiveFloat = 1.0,
        adv_batch_size: PositiveInt | None = None,
        g_pretrain_optimizer: OptimizerFactory = adam(lr=1e-3),
        g_adv_optimizer: OptimizerFactory = adam(lr=1e-4),
        d_optimizer: OptimizerFactory = adam(lr=1e-3),
        grad_clip: NonNegativeFloat = 5.0,
        reward_batch_size: PositiveInt = 4096,
        num_eval_samples: PositiveInt = 1000,
        decoding: DecodingSettings = DecodingSettings(),
        simulation: SimulationSettings = SimulationSettings(),
    ):
        super().__init__(locals())
        if reward not in REWARDS:
            raise ConfigError(f"method.reward must be one of {REWARDS} (regs: per-token Monte Carlo rewards, "
                             f"sequence: Adver-Reinforce), got {reward!r}")
        if baseline not in BASELINES:
            raise ConfigError(f"method.baseline must be one of {BASELINES}, got {baseline!r}")
        self.generator = self.build_generator(generator)
        self.discriminator = discriminator(vocab_size=len(vocab), pad_id=vocab.pad_id)
        # b_t: running mean of the reward at each response position (saved in checkpoints)
        self.register_buffer("reward_baseline", torch.zeros(seq_len))
        self.register_buffer("baseline_updates", torch.zeros((), dtype=torch.long))

    # ------------------------------------------------------------------ schedule
    def phase_epochs(self) -> tuple[int, ...]:
        hp = self.hparams
        return hp.g_pretrain_epochs, hp.d_pretrain_epochs, hp.adversarial_epochs

    def configure_optimizers(self):
        return [
            self.g_pretrain_optimizer(self.generator.parameters()),
            self.g_adv_optimizer(self.generator.parameters()),
            self.d_optimizer(self.discriminator.parameters()),
        ]

    def on_fit_start(self) -> None:
        if self.hparams.pretrained_ckpt and self.trainer.ckpt_path is None:
            self.load_pretrained_generator(self.hparams.pretrained_ckpt)

    # ------------------------------------------------------------------ Algorithm 1, one iteration per batch
    # (MLE pre-training is `AdversarialTraining.training_step`'s first phase)
    def discriminator_pretraining_step(self, batch, d_opt) -> None:
        """Pre-train D: one D step on this batch of human pairs against sampled responses."""
        context, response = self.unpack(batch)
        self.log("progress/d_pretrain_round", float(self.current_epoch - self.hparams.g_pretrain_epochs))
        self.discriminator_step(context, response, d_opt)

    def adversarial_step(self, batch, g_opt, d_opt) -> None:
        """One iteration of Algorithm 1 on this batch of pairs (X, Y): `d_steps` times, sample Y' ~ G(.|X) and
        update D with (X, Y) as positive and (X, Y') as negative examples; then `g_steps` times (on the first
        `adv_batch_size` pairs), sample Y', compute the reward r for (X, Y') with D, update G on (X, Y') with r,
        and teacher forcing: update G on (X, Y)."""
        context, response = self.unpack(batch)
        self.log("progress/adversarial_round", float(self.adversarial_round))
        hp = self.hparams
        for _ in range(hp.d_steps):
            self.discriminator_step(context, response, d_opt)
        if hp.adv_batch_size:
            context, response = context[: hp.adv_batch_size], response[: hp.adv_batch_size]
        for _ in range(hp.g_steps):
            self.generator_step(context, response, g_opt)

    @torch.no_grad()
    def sample_responses(self, context: torch.Tensor) -> torch.Tensor:
        """y' ~ G(.|x): `[batch, seq_len]` (tokens, `<eos>`, `<pad>`)."""
        return self.respond(context, "sample", temperature=self.hparams.sample_temperature, top_k=0, top_p=1.0)

    def discriminator_step(self, context: torch.Tensor, response: torch.Tensor, opt) -> None:
        """One D step: human responses labelled 1, freshly sampled ones labelled 0 (cross-entropy)."""
        fake = self.sample_responses(context)
        loss = discriminator_loss(self.discriminator(context, response), self.discriminator(context, fake))
        self.optimizer_step_with_clip(opt, loss)
        self.log("train/d_loss", loss.detach(), prog_bar=True)

    @torch.no_grad()
    def rewards(self, context: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        """Q(x, y'_<=t) `[batch, seq_len]`: D's probability of "human" for the whole response at every
        position (`reward=sequence`) or Monte Carlo estimates per prefix (`reward=regs`). D runs in eval
        mode."""
        hp = self.hparams
        with self.discriminator_mode(training=False) as discriminator:
            if hp.reward == "sequence":
                score = discriminator.prob_human(context, responses)  # [batch]
                return score.unsqueeze(1).expand_as(responses).clone()

            @takes_source_row
            def reward_fn(rows: torch.Tensor, source_row: torch.Tensor) -> torch.Tensor:
                return discriminator.prob_human(context[source_row], rows)  # each row with its own context

            b = len(context)
            chunk = max(b, hp.reward_batch_size // b * b)  # D scores whole blocks of one row per context
            return mc_rewards(self.generator.bind(context), reward_fn, responses, hp.num_rollouts, chunk,
                              hp.sample_temperature)

    def advantages(self, rewards: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`rewards - b_t` and, with `baseline=running_mean`, update b_t with this batch's mean reward per
        position (b starts at the first batch's means)."""
        if self.hparams.baseline == "none":
            return rewards
        t_len = rewards.shape[1]
        if t_len > len(self.reward_baseline):
            raise ValueError(f"responses of {t_len} tokens are longer than "
                             f"seq_len={len(self.reward_baseline)}")
        m = mask.float()
        counts = m.sum(0)
        means = (rewards * m).sum(0) / counts.clamp_min(1.0)
        running = self.reward_baseline[:t_len]  # a view: updated in place below
        # device-side selections (torch.where), not Python branches on device values: no host round trip per step
        first = self.baseline_updates == 0
        adv = rewards - torch.where(first, means, running).unsqueeze(0)
        decay = torch.where(first, 0.0, self.hparams.baseline_decay)
        rate = torch.where(first, 1.0, 1 - self.hparams.baseline_decay)  # 1 - decay rounded once, as a Python float was
        running.copy_(torch.where(counts > 0, decay * running + rate * means, running))
        self.baseline_updates += 1
        return adv

    def adversarial_loss(self, context: torch.Tensor, responses: torch.Tensor, advantages: torch.Tensor
                         ) -> torch.Tensor:
        """REINFORCE (eq. 3): `-1/B sum_b sum_t A_bt log G(y'_bt | x_b, y'_b<t)` over the real tokens."""
        mask = responses != self.vocab.pad_id
        return policy_gradient_loss(self.generator.log_probs(context, responses), advantages, mask)

    def teacher_forcing_loss(self, context: torch.Tensor, response: torch.Tensor) -> torch.Tensor:
        """Teacher forcing (sec. 3.3): the human response with reward 1, times `teacher_forcing_weight`."""
        mask = response != self.vocab.pad_id
        ones = torch.ones(response.shape, device=response.device)
        weight = self.hparams.teacher_forcing_weight
        return weight * policy_gradient_loss(self.generator.log_probs(context, response), ones, mask)

    def generator_step(self, context: torch.Tensor, response: torch.Tensor, opt) -> None:
        """One policy-gradient step on sampled responses, then one teacher-forcing step on the human ones."""
        fake = self.sample_responses(context)
        rewards = self.rewards(context, fake)
        mask = fake != self.vocab.pad_id
        loss = self.adversarial_loss(context, fake, self.advantages(rewards, mask))
        self.optimizer_step_with_clip(opt, loss)
        self.log("train/g_pg_loss", loss.detach(), prog_bar=True)
        self.log("train/mean_reward", rewards[:, -1].mean(), prog_bar=True)
        if self.hparams.teacher_forcing_weight:
            tf = self.teacher_forcing_loss(context, response)
            self.optimizer_step_with_clip(opt, tf)
            self.log("train/g_teacher_forcing_loss", tf.detach())
