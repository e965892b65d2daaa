"""`Policy`: the interface of an autoregressive generator that Monte Carlo rollouts (`textgan.rollout`) and
decoding (`textgan.decoding`) step through, declared once.

A policy is G(y_t | y_<t) (SeqGAN's LSTM, Yu et al. 2017) or G(y_t | x, y_<t) bound to a batch of inputs x
(a seq2seq decoder, Li et al. 2017). Callers advance it one token per row over a *state* that only the policy
reads (an LSTM's `(h, c)`, a seq2seq `DecoderState`); they never look inside a state, they only select rows of
it (`index_state`) to fork a sequence into rollouts or beams. Sequences follow the data convention: tokens,
`<eos>`, then `<pad>`.

Implemented by `textgan.models.lstm.LSTMGenerator` and `textgan.models.seq2seq.ContextPolicy`
(`Seq2Seq.bind(context)`, a `BoundPolicy`).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

State = Any  # opaque: made and read by the policy; callers only pass it back or take rows of it


@runtime_checkable
class Policy(Protocol):
    """What rollouts and decoding rely on.

    Attributes:
        eos_id: the end token (None: fixed-length sequences, e.g. the oracle's); only `<pad>` follows it.
        pad_id: the padding token (None when there is no `<eos>`).
    """

    eos_id: int | None
    pad_id: int | None

    def step(self, tokens: torch.Tensor | None, state: State) -> tuple[torch.Tensor, State]:
        """Consume one token per row (`[n]` long; None: the start input) -> next-token logits `[n, vocab]` and
        the state after it."""
        ...

    def prefix_states(self, tokens: torch.Tensor) -> tuple[list[State], torch.Tensor]:
        """Every prefix of `tokens` `[batch, seq_len]` consumed once: `states[t]` is the state after
        `tokens[:, :t+1]` (a list of length seq_len) and `next_logits[:, t]` (`[batch, seq_len, vocab]`) the
        distribution of token t+1 (the last one unused)."""
        ...

    def index_state(self, state: State, index: torch.Tensor) -> State:
        """Rows `index` (`[m]` long, repeats allowed) of a state of n rows, in that order."""
        ...


@runtime_checkable
class BoundPolicy(Policy, Protocol):
    """A `Policy` bound to a batch of `batch` inputs, which knows its first step: decoding from scratch starts
    there. It may also have a `bos_id` (the start input), which decoding never emits."""

    def start(self) -> tuple[torch.Tensor, State]:
        """Logits of the first token `[batch, vocab]` and the state that produced them."""
        ...
