"""`DialogueRL`: the RL chatbot (Li, Monroe, Ritter, Galley, Gao, Jurafsky, "Deep Reinforcement Learning for
Dialogue Generation", EMNLP 2016, arXiv 1606.01541).

One seq2seq policy `p_RL(a | p, q)` (`textgan.models.seq2seq`, attention) talks to itself; *fixed*, pre-trained
scorers reward every turn (`textgan.dialogue.rewards`): the forward MLE model `p_seq2seq(a | p, q)` (a frozen copy
of the policy's starting point) and the backward model `p_backward(q | a)` (MLE on swapped pairs, e.g. a
`method=seq2seq data.direction=backward` checkpoint). Unlike `method=dialogue_seqgan` (Li et al. 2017), whose
reward (the discriminator) is trained alongside the generator, these rewards never change.

Phases (one Lightning epoch = one pass over the training pairs; the phase follows from `current_epoch` and the
curricula from step counters saved in the checkpoint, so a resumed run continues where it stopped):

0. `mle` (`mle_epochs`; 0 with `pretrained_ckpt`): teacher-forced MLE of the policy; with no `backward_ckpt`,
   the backward model is trained here too, on the same batches swapped (needs `data.context_turns=1`). When
   the phase ends the forward scorer becomes a frozen copy of the policy and the backward model is frozen
   (eval mode, `requires_grad=False`).
1. `mmi` (`mmi_epochs`, sec. 4 "Mutual information"): REINFORCE on corpus inputs with the mutual-information
   reward `r3` alone, with the curriculum of sec. 4: the first L tokens of each response are the human ones and
   trained by MLE, the rest are sampled from the policy after them and trained by policy gradient; L starts at
   `prefix_start` and drops by one every `prefix_anneal_every` steps, down to 0 (`prefix_length`).
2. `simulation` (`simulation_epochs`, sec. 4 "Dialogue simulation"): each batch's contexts start dialogues;
   the policy plays both agents, sampling every turn from the last `data.context_turns` turns
   (`textgan.dialogue.simulation.simulate`, all dialogues of the batch at once); every turn i gets the reward
   `r = l1 r1 + l2 r2 + l3 r3` (`reward_weights`), and REINFORCE (eq. 7) weights the log-likelihood of every
   turn by the dialogue's total reward minus a running-mean baseline:
       grad J = sum_i grad log p_RL(a_i | p_i, q_i) * (sum_j R(a_j, [p_j, q_j]) - b).
   The number of simulated turns follows a curriculum (sec. 4 "Curriculum Learning"): `turns_start` turns,
   one more every `turns_every` steps, up to `turns_max` (`simulated_turns`).

Where the paper leaves a choice open: r2 of an agent's first turn (no earlier turn of its own) is 0; the input
message of a simulation is turn 0, said by the second agent; in the MMI phase the backward target q is the batch
context (exactly the previous turn with `data.context_turns=1`; with 2 the two turns concatenated).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from textgan.data.tokenize import encode_padded
from textgan.data.vocab import Vocabulary
from textgan.decoding import DecodingSettings, sample_decode
from textgan.dialogue.rewards import (
    DEFAULT_WEIGHTS,
    combine,
    ease_of_answering,
    encoder_state,
    information_flow,
    semantic_coherence,
)
from textgan.dialogue.simulation import Simulation, SimulationSettings, pack_context
from textgan.errors import ConfigError
from textgan.losses import masked_mean, mle_loss, policy_gradient_loss
from textgan.methods.base import ModelFactory
from textgan.methods.seq2seq import DialogueMethod
from textgan.optim import OptimizerFactory, adam
from textgan.ranges import (
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Probability,
    UnitInterval,
)


def prefix_length(step: int, start: int, every: int) -> int:
    """The MMI curriculum: human (MLE) tokens at the start of each response at MMI step `step` (0-based):
    `max(0, start - step // every)`."""
    return max(0, start - step // max(1, every))


def simulated_turns(step: int, start: int, maximum: int, every: int) -> int:
    """The simulation curriculum: turns per simulated dialogue at simulation step `step` (0-based):
    `min(maximum, start + step // every)`."""
    return min(maximum, start + step // max(1, every))


class DialogueRL(DialogueMethod):
    """Li et al. (2016): a seq2seq policy trained by REINFORCE with fixed rewards (see the module docstring).

    Args:
        generator: `_partial_` `Seq2Seq` factory: the policy, the forward scorer and the backward model.
        mle_epochs, mmi_epochs, simulation_epochs: the three phases.
        pretrained_ckpt: a `method=seq2seq` checkpoint: the policy and the forward scorer start from its
            generator.
        backward_ckpt: a `method=seq2seq data.direction=backward` checkpoint: the backward model (else it is
            trained in the `mle` phase).
        reward_weights: (l1, l2, l3) of r1 (ease of answering), r2 (information flow), r3 (semantic
            coherence); paper: 0.25, 0.25, 0.5.
        min_cos: the floor of the cosine in r2.
        prefix_start, prefix_anneal_every: the MMI curriculum (`prefix_length`).
        turns_start, turns_max, turns_every: the simulation curriculum (`simulated_turns`).
        baseline_decay: of the running-mean baselines (one per RL phase) of the reward.
        sample_temperature: of the sampled responses and simulated turns.
        rl_batch_size: contexts per RL step (null: the data batch).
        mle_optimizer, rl_optimizer: factories (`textgan.optim`) of the optimisers of the MLE steps (the policy's
            and, its own instance, the backward model's) and of the RL steps (default Adam, lr 1e-3 and 1e-4).
        grad_clip, num_eval_samples, decoding, simulation: as in `Seq2SeqMLE`; `simulation.dull_responses` is
            also r1's list S.

    The settings are read from `self.hparams` (Lightning's `save_hyperparameters`).
    """

    phases = ("mle", "mmi", "simulation")

    def __init__(
        self,
        vocab: Vocabulary,
        generator: ModelFactory,
        seq_len: int,
        mle_epochs: NonNegativeInt = 0,
        mmi_epochs: NonNegativeInt = 1,
        simulation_epochs: NonNegativeInt = 1,
        pretrained_ckpt: str | None = None,
        backward_ckpt: str | None = None,
        reward_weights: Sequence[float] = DEFAULT_WEIGHTS,
        min_cos: Probability = 0.01,
        prefix_start: NonNegativeInt = 8,
        prefix_anneal_every: PositiveInt = 100,
        turns_start: PositiveInt = 2,
        turns_max: PositiveInt = 5,
        turns_every: PositiveInt = 200,
        baseline_decay: UnitInterval = 0.95,
        sample_temperature: PositiveFloat = 1.0,
        rl_batch_size: PositiveInt | None = None,
        mle_optimizer: OptimizerFactory = adam(lr=1e-3),
        rl_optimizer: OptimizerFactory = adam(lr=1e-4),
        grad_clip: NonNegativeFloat = 5.0,
        num_eval_samples: PositiveInt = 1000,
        decoding: DecodingSettings = DecodingSettings(),
        simulation: SimulationSettings = SimulationSettings(),
    ):
        reward_weights = tuple(float(w) for w in reward_weights)  # plain numbers in the checkpoint's hparams
        super().__init__(locals())
        if len(reward_weights) != 3 or not any(reward_weights):
            raise ConfigError(f"method.reward_weights must be three numbers (r1, r2, r3), not all 0, got "
                             f"{list(reward_weights)}")
        if not 1 <= turns_start <= turns_max:
            raise ConfigError(f"method.turns_start ({turns_start}) must be >= 1 and <= method.turns_max "
                             f"({turns_max})")
        if mle_epochs == 0 and backward_ckpt is None:
            raise ConfigError("the backward model p(q | a) needs training: give method.backward_ckpt=<a method="
                             "seq2seq data.direction=backward last.ckpt> or method.mle_epochs > 0")
        self.generator = self.build_generator(generator)
        self.forward_scorer = self.build_generator(generator).requires_grad_(False)
        self.backward_model = self.build_generator(generator)
        # saved in checkpoints: the curricula's step counters, the baselines, whether the scorers are frozen
        for name in ("mmi_steps", "simulation_steps", "mmi_baseline_updates", "simulation_baseline_updates"):
            self.register_buffer(name, torch.zeros((), dtype=torch.long))
        self.register_buffer("mmi_baseline", torch.zeros(()))
        self.register_buffer("simulation_baseline", torch.zeros(()))
        self.register_buffer("scorers_frozen", torch.zeros((), dtype=torch.bool))
        self._dull_ids: torch.Tensor | None = None

    # ------------------------------------------------------------------ schedule
    def phase_epochs(self) -> tuple[int, ...]:
        hp = self.hparams
        return hp.mle_epochs, hp.mmi_epochs, hp.simulation_epochs

    def configure_optimizers(self):
        return [
            self.mle_optimizer(self.generator.parameters()),
            self.mle_optimizer(self.backward_model.parameters()),
            self.rl_optimizer(self.generator.parameters()),
        ]

    def on_fit_start(self) -> None:
        hp = self.hparams
        if hp.backward_ckpt is None and self.context_layout()["context_turns"] != 1:
            raise ConfigError("training the backward model in the mle phase needs data.context_turns=1; with "
                             "more turns give method.backward_ckpt=<a method=seq2seq data.direction=backward "
                             "last.ckpt>")
        if self.trainer.ckpt_path is not None:
            return  # resuming: every model comes from the run's own checkpoint
        if hp.pretrained_ckpt:
            self.load_pretrained_generator(hp.pretrained_ckpt)
        if hp.backward_ckpt:
            self.load_pretrained_generator(hp.backward_ckpt, into=self.backward_model)

    def train(self, mode: bool = True):
        """The forward scorer is always in eval mode, the backward model once frozen."""
        super().train(mode)
        self.forward_scorer.eval()
        if bool(self.scorers_frozen):
            self.backward_model.eval()
        return self

    def freeze_scorers(self) -> None:
        """End of the MLE phase (once): the forward scorer becomes a copy of the policy; both scorers are
        frozen (eval mode, no gradient)."""
        if not bool(self.scorers_frozen):
            self.forward_scorer.load_state_dict(self.generator.state_dict())
            self.scorers_frozen.fill_(True)
        for model in (self.forward_scorer, self.backward_model):
            model.eval()
            model.requires_grad_(False)

    # ------------------------------------------------------------------ turn layouts
    def as_context(self, turns: torch.Tensor) -> torch.Tensor:
        """Turns `[B, *]` in the data's context layout `[B, max_context_len (+1)]`."""
        s = self.context_layout()
        return pack_context([turns], s["max_context_len"], self.vocab.pad_id, self.vocab.eos_id,
                            s["context_eos"])

    def as_target(self, turns: torch.Tensor) -> torch.Tensor:
        """Turns `[B, *]` in the response layout `[B, seq_len]` (at most `seq_len - 1` tokens, `<eos>`)."""
        return pack_context([turns], self.seq_len - 1, self.vocab.pad_id, self.vocab.eos_id, True)

    def dull_ids(self) -> torch.Tensor:
        """The dull list S `[N_S, T_s]` (target layout), tokenized like the data."""
        if self._dull_ids is None:
            lists = self.dull_token_lists()
            self._dull_ids = encode_padded(self.vocab, lists, max(len(t) for t in lists) + 1, add_eos=True)
        return self._dull_ids.to(self.device)

    # ------------------------------------------------------------------ rewards
    @torch.no_grad()
    def turn_rewards(self, sim: Simulation) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The reward of every simulated turn `[B, num_turns]` (eq. 4) and the mean of each part."""
        n, b = len(sim.turns) - 1, sim.turns[0].shape[0]
        pad = self.vocab.pad_id
        response = torch.cat(sim.turns[1:])  # row (i - 1) * B + j: turn i of dialogue j
        context = torch.cat(sim.contexts)
        response_ctx = self.as_context(response)
        w1, w2, w3 = self.hparams.reward_weights
        r1 = ease_of_answering(self.forward_scorer, response_ctx, self.dull_ids(), pad) if w1 else None
        r2 = None
        if w2:
            h = encoder_state(self.forward_scorer, torch.cat([self.as_context(t) for t in sim.turns]))
            h = h.view(n + 1, b, -1)
            floor = self.hparams.min_cos
            flows = [torch.zeros(b, device=h.device) if i < 2 else information_flow(h[i - 2], h[i], floor)
                     for i in range(1, n + 1)]  # an agent's first turn has no earlier turn of its own
            r2 = torch.cat(flows)
        r3 = None
        if w3:
            previous = torch.cat([self.as_target(t) for t in sim.turns[:-1]])
            r3 = semantic_coherence(self.forward_scorer, self.backward_model, context, response, response_ctx,
                                    previous, pad)
        total = combine([r1, r2, r3], self.hparams.reward_weights)
        parts = {name: r.mean() for name, r in (("r1", r1), ("r2", r2), ("r3", r3)) if r is not None}
        return total.view(n, b).t(), parts

    def advantage(self, returns: torch.Tensor, phase: str) -> torch.Tensor:
        """`returns - b` `[B]`; b, the running mean of the phase's batch-mean return (decay `baseline_decay`),
        starts at the first batch's mean and is updated after use."""
        base, count = getattr(self, f"{phase}_baseline"), getattr(self, f"{phase}_baseline_updates")
        mean = returns.mean()
        first = int(count) == 0
        adv = returns - (mean if first else base.clone())
        decay = 0.0 if first else self.hparams.baseline_decay
        base.copy_(decay * base + (1 - decay) * mean)
        count += 1
        return adv

    # ------------------------------------------------------------------ training
    def training_step(self, batch, batch_idx: int) -> None:
        mle_opt, backward_opt, rl_opt = self.optimizers()
        context, response = self.unpack(batch)
        self.log("progress/phase", float(self.phase_index()))
        if self.phase == "mle":
            self.log("train/g_mle_loss", self.mle_step(batch, mle_opt), prog_bar=True)
            if self.hparams.backward_ckpt is None:
                self.log("train/backward_mle_loss", self.backward_mle_step(context, response, backward_opt))
            return
        self.freeze_scorers()
        size = self.hparams.rl_batch_size
        if size:
            context, response = context[:size], response[:size]
        if self.phase == "mmi":
            self.mmi_step(context, response, rl_opt)
        else:
            self.simulation_step(context, rl_opt)

    def backward_mle_step(self, context: torch.Tensor, response: torch.Tensor, opt) -> torch.Tensor:
        """One MLE step of the backward model p(q | a) on the batch swapped (the response as context)."""
        source, target = self.as_context(response), self.as_target(context)
        loss = mle_loss(self.backward_model(source, target), target, target != self.vocab.pad_id)
        self.optimizer_step_with_clip(opt, loss)
        return loss.detach()

    def mmi_step(self, context: torch.Tensor, response: torch.Tensor, opt) -> None:
        """Phase 1: the first L human tokens by MLE, the sampled rest by REINFORCE with reward r3."""
        pad = self.vocab.pad_id
        hp = self.hparams
        length = prefix_length(int(self.mmi_steps), hp.prefix_start, hp.prefix_anneal_every)
        with torch.no_grad():
            prefix = response[:, :length] if length else None
            sampled = sample_decode(self.generator.bind(context), self.seq_len, hp.sample_temperature,
                                    prefix=prefix)
            reward = semantic_coherence(self.forward_scorer, self.backward_model, context, sampled,
                                        self.as_context(sampled), self.as_target(context), pad)
        real = sampled != pad
        human = real & (torch.arange(sampled.shape[1], device=sampled.device) < length)
        adv = self.advantage(reward, "mmi").unsqueeze(1).expand_as(sampled)
        logp = self.generator.log_probs(context, sampled)
        loss = policy_gradient_loss(logp, adv, real & ~human)
        if bool(human.any()):
            loss = loss - masked_mean(logp, human)
        self.optimizer_step_with_clip(opt, loss)
        self.mmi_steps += 1
        self.log("train/mmi_reward", reward.mean(), prog_bar=True)
        self.log("train/mmi_loss", loss.detach())
        self.log("train/prefix_len", float(length))

    def simulation_step(self, context: torch.Tensor, opt) -> None:
        """Phase 2: simulate dialogues from `context`, REINFORCE every turn with the dialogue's return."""
        pad = self.vocab.pad_id
        hp = self.hparams
        turns = simulated_turns(int(self.simulation_steps), hp.turns_start, hp.turns_max, hp.turns_every)
        sim = self.simulate_dialogues(context, turns, "sample", temperature=hp.sample_temperature, top_k=0,
                                      top_p=1.0, **self.context_layout())
        rewards, parts = self.turn_rewards(sim)  # [B, turns]
        returns = rewards.sum(1)
        b = context.shape[0]
        responses, contexts = torch.cat(sim.turns[1:]), torch.cat(sim.contexts)
        # [turns * B, T] rows (turn-major) -> [B, turns * T]: one row per dialogue, all its turns
        logp = self.generator.log_probs(contexts, responses).view(turns, b, -1).transpose(0, 1).reshape(b, -1)
        mask = (responses != pad).view(turns, b, -1).transpose(0, 1).reshape(b, -1)
        adv = self.advantage(returns, "simulation").unsqueeze(1).expand_as(logp)
        loss = policy_gradient_loss(logp, adv, mask)
        self.optimizer_step_with_clip(opt, loss)
        self.simulation_steps += 1
        self.log("train/dialogue_return", returns.mean(), prog_bar=True)
        self.log("train/sim_pg_loss", loss.detach())
        self.log("train/sim_turns", float(turns))
        for name, value in parts.items():
            self.log(f"train/reward_{name}", value)

