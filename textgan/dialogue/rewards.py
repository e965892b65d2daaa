"""The three rewards of the RL chatbot (Li et al. 2016, "Deep Reinforcement Learning for Dialogue Generation",
sec. 3.3), each scoring one generated turn `a` with fixed, pre-trained seq2seq scorers (`textgan.models.seq2seq`,
frozen by the caller):

- ease of answering (eq. 1): `r1 = -(1/N_S) sum_{s in S} (1/N_s) log p_seq2seq(s | a)`, S a list of dull
  responses;
- information flow (eq. 2): `r2 = -log cos(h_{p_i}, h_{p_{i+1}})`, the encoder representations of the same
  agent's two consecutive turns. The cosine is clamped below at `min_cos` (> 0) first, so a non-positive cosine
  (turns pointing apart) gets the largest reward, `-log(min_cos)`, instead of an undefined logarithm;
- semantic coherence (eq. 3): `r3 = (1/N_a) log p_seq2seq(a | q, p) + (1/N_q) log p_backward(q | a)`;
- `r = l1 r1 + l2 r2 + l3 r3` (eq. 4; paper: l = 0.25, 0.25, 0.5).

Lengths N count a sequence's tokens and its `<eos>` (the scored events). Sequences follow the data layout:
targets `[B, T]` = tokens, `<eos>`, `<pad>`; contexts `[B, S]` = tokens, (`<eos>`), `<pad>`.

`DULL_RESPONSES`: the default dull list S. Li et al. (sec. 3.3) build S by hand from dull responses that
SEQ2SEQ models generate often ("I don't know what you are talking about" is their example); the 7 turns below
are OpenSubtitles-style examples of such responses, not checked against a complete list of the paper's.
Give a corpus' own spelling with `method.simulation.dull_responses` (e.g. DailyDialog writes "I don ’ t know .").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

DULL_RESPONSES = (
    "i don't know what you are talking about",
    "i don't know",
    "you don't know",
    "you know what i mean",
    "i know what you mean",
    "you know what i'm saying",
    "you don't know anything",
)
DEFAULT_WEIGHTS = (0.25, 0.25, 0.5)


def mean_log_likelihood(model, context: torch.Tensor, target: torch.Tensor, pad_id: int) -> torch.Tensor:
    """`(1/N_y) log p(y | x)` per row `[B]`: `model.log_probs` summed over the non-`<pad>` tokens of `target`
    `[B, T]` (given `context` `[B, S]`), divided by their number."""
    mask = (target != pad_id).float()
    return (model.log_probs(context, target) * mask).sum(1) / mask.sum(1).clamp_min(1.0)


def ease_of_answering(model, turn_as_context: torch.Tensor, dull: torch.Tensor, pad_id: int) -> torch.Tensor:
    """r1 `[B]` (eq. 1): minus the mean over the dull responses `dull` `[N_S, T_s]` of their length-normalised
    log-likelihood given each turn `turn_as_context` `[B, S]` (all B x N_S pairs in one batch)."""
    b, n = turn_as_context.shape[0], dull.shape[0]
    context = turn_as_context.repeat_interleave(n, dim=0)  # row i * n + j: turn i, dull response j
    target = dull.to(turn_as_context.device).repeat(b, 1)
    return -mean_log_likelihood(model, context, target, pad_id).view(b, n).mean(1)


def encoder_state(model, context: torch.Tensor) -> torch.Tensor:
    """`h` `[B, hidden]`: the last layer's final encoder state of `model` (a `Seq2Seq`) over `context`."""
    return model.encode(context).final[0][-1]


def information_flow(h_previous: torch.Tensor, h_current: torch.Tensor, min_cos: float = 0.01) -> torch.Tensor:
    """r2 `[B]` (eq. 2): `-log max(cos(h_previous, h_current), min_cos)` of two `[B, hidden]` encodings."""
    if not 0 < min_cos <= 1:
        raise ValueError(f"min_cos must be in (0, 1], got {min_cos}")
    cos = F.cosine_similarity(h_previous.float(), h_current.float(), dim=-1)
    return -torch.log(cos.clamp_min(min_cos))


def semantic_coherence(forward, backward, context: torch.Tensor, response: torch.Tensor,
                       response_as_context: torch.Tensor, previous: torch.Tensor, pad_id: int) -> torch.Tensor:
    """r3 `[B]` (eq. 3): `mean_log_likelihood` of `response` `[B, T]` given `context` under `forward` plus that
    of the previous turn `previous` `[B, T_q]` (target layout) given `response_as_context` under `backward`."""
    return (mean_log_likelihood(forward, context, response, pad_id)
            + mean_log_likelihood(backward, response_as_context, previous, pad_id))


def combine(rewards: Sequence[torch.Tensor], weights: Sequence[float] = DEFAULT_WEIGHTS) -> torch.Tensor:
    """`sum_k weights[k] * rewards[k]` (eq. 4); a zero weight skips its reward (which may then be None)."""
    if len(rewards) != len(weights):
        raise ValueError(f"{len(rewards)} rewards but {len(weights)} weights")
    total = None
    for r, w in zip(rewards, weights):
        if w:
            total = w * r if total is None else total + w * r
    if total is None:
        raise ValueError("all reward weights are 0: give at least one non-zero weight")
    return total
