"""Dialogue simulation: two agents talk, batched over dialogues (Li et al. 2016, "Deep Reinforcement Learning for
Dialogue Generation", sec. 4 "Dialogue simulation between two agents").

A simulation starts from an input message per dialogue (turn 0, said by agent B) and lets agents A and B answer
in turn: turn i >= 1 is said by agent A when i is odd, B when i is even, and is generated from the context of
the previous `context_turns` turns, concatenated oldest first (the last `max_context_len` tokens kept, then
`<eos>` if the data adds one: the layout of `textgan.data.dialogue` contexts). Every dialogue of the batch
advances together: one decoder call per turn, never a loop over dialogues. The agents are callables
`context [B, context_len] -> response [B, seq_len]` (e.g. `DialogueMethod.respond` with greedy, beam or sampled
decoding); with one agent it plays both sides.

`dialogue_length` measures how long a simulated dialogue lasts (the paper's "length of the dialogue",
sec. 5.2): the number of turns before the first turn that is dull (empty, or as similar to a dull response as
`dull_similarity`) or repeats an earlier turn of the same agent (similarity >= `repeat_similarity`; Li et al.
end a dialogue when "two consecutive utterances are highly overlapping"), up to the simulated turns. Similarity
is the Jaccard index of the two turns' lower-cased token sets, punctuation-only tokens left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from textgan.ranges import NonNegativeInt, PositiveInt, UnitInterval, check_arguments

Agent = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SimulationSettings:
    """The dialogues a dialogue method simulates at each evaluation (`DialogueMethod.simulation_metrics`): the
    `method.simulation` node, `conf/simulation/default.yaml`.

    Args:
        inputs: two copies of the model talk from the first `inputs` evaluation contexts (0: no simulation) ...
        max_turns: ... for up to this many turns.
        dull_responses: the texts of the dull list, in the data's spelling (None:
            `textgan.dialogue.rewards.DULL_RESPONSES`); `method=dialogue_rl` rewards against it too (r1's list S).
        dull_similarity, repeat_similarity: the thresholds of `dialogue_length`.
    """

    inputs: NonNegativeInt = 100
    max_turns: PositiveInt = 8
    dull_responses: tuple[str, ...] | None = None
    dull_similarity: UnitInterval = 0.8
    repeat_similarity: UnitInterval = 0.8

    def __post_init__(self) -> None:
        check_arguments(SimulationSettings, vars(self), "simulation")
        if self.dull_responses is not None:  # Hydra passes a ListConfig: kept as plain strings
            object.__setattr__(self, "dull_responses", tuple(str(text) for text in self.dull_responses))


@dataclass
class Simulation:
    """`turns[0]` is the input `[B, *]`; `turns[i]` (i >= 1) the generated turn i `[B, seq_len]` (tokens,
    `<eos>`, `<pad>`); `contexts[i - 1]` `[B, context_len]` the context it was generated from."""

    turns: list[torch.Tensor]
    contexts: list[torch.Tensor]


def speaker(turn: int) -> int:
    """The agent of turn `turn`: 0 (A) for odd turns, 1 (B) for the input and even turns."""
    return 0 if turn % 2 else 1


def pack_context(turns: Sequence[torch.Tensor], max_len: int, pad_id: int, eos_id: int, add_eos: bool = True
                 ) -> torch.Tensor:
    """The tokens of `turns` (each `[B, *]`, any padding, `<eos>` and `<pad>` dropped) concatenated in order,
    the last `max_len` kept, left-aligned, then `<eos>` if `add_eos`, then `<pad>`: `[B, max_len + add_eos]`."""
    cat = torch.cat(list(turns), dim=1)
    real = (cat != pad_id) & (cat != eos_id)
    order = torch.sort((~real).to(torch.uint8), dim=1, stable=True).indices  # real tokens first, in order
    packed = cat.gather(1, order)
    n = real.sum(1, keepdim=True)
    start = (n - max_len).clamp_min(0)
    index = start + torch.arange(max_len, device=cat.device).unsqueeze(0)  # [B, max_len]
    keep = index < n
    out = packed.gather(1, index.clamp_max(cat.shape[1] - 1)).masked_fill(~keep, pad_id)
    if add_eos:
        out = torch.cat([out, torch.full_like(out[:, :1], pad_id)], dim=1)
        out.scatter_(1, n.clamp_max(max_len), eos_id)
    return out


@torch.no_grad()
def simulate(agents: Sequence[Agent], start: torch.Tensor, num_turns: int, context_turns: int,
             max_context_len: int, pad_id: int, eos_id: int, context_eos: bool = True) -> Simulation:
    """Simulate `num_turns` turns from the inputs `start` `[B, *]` (turn 0). Turn i is answered by
    `agents[speaker(i)]` (or `agents[0]` when there is one) given `pack_context` of turns
    `max(0, i - context_turns) .. i - 1`."""
    if not 1 <= len(agents) <= 2:
        raise ValueError(f"a simulation has one agent (playing both sides) or two, got {len(agents)}")
    if context_turns < 1:
        raise ValueError(f"context_turns must be >= 1, got {context_turns}")
    turns, contexts = [start], []
    for i in range(1, num_turns + 1):
        context = pack_context(turns[max(0, i - context_turns):], max_context_len, pad_id, eos_id, context_eos)
        agent = agents[speaker(i) % len(agents)]
        contexts.append(context)
        turns.append(agent(context))
    return Simulation(turns, contexts)


def _content(tokens: Sequence[str]) -> frozenset[str]:
    return frozenset(t.lower() for t in tokens if any(ch.isalnum() for ch in t))


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard index of the lower-cased content-token sets of two turns (1.0 for two empty ones)."""
    sa, sb = _content(a), _content(b)
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def dialogue_length(turns: Sequence[Sequence[str]], dull: Sequence[Sequence[str]], dull_similarity: float = 0.8,
                    repeat_similarity: float = 0.8) -> int:
    """Turns of one simulated dialogue (`turns[0]` the input, `turns[1:]` generated, token lists) before the
    first generated turn that is empty, as similar to a `dull` response as `dull_similarity`, or as similar to
    an earlier turn of the same agent as `repeat_similarity` (see the module docstring)."""
    for i in range(1, len(turns)):
        turn = turns[i]
        if not _content(turn) or any(similarity(turn, d) >= dull_similarity for d in dull):
            return i - 1
        if any(similarity(turn, turns[j]) >= repeat_similarity for j in range(i - 2, -1, -2)):
            return i - 1
    return len(turns) - 1
