"""Decoding a conditional generator: greedy, sampling (temperature, top-k, top-p) and batched beam search.

Every function takes a `textgan.policy.BoundPolicy`: an autoregressive model bound to a batch of `batch` inputs
(e.g. `Seq2Seq.bind(context)`) that starts with `start()`.

Outputs follow the data convention: tokens, `<eos>`, then `<pad>` to `max_len` (a response that reaches
`max_len` without `<eos>` is cut there). `<pad>` and `<bos>` (`policy.bos_id`, when the policy has one) are
never chosen as response tokens. Token choice reuses `textgan.sampling`.

Beam search (batched over inputs and beams) keeps `beam_size` unfinished hypotheses per input. At each step it
takes the `2 * beam_size` best one-token extensions; an extension ending in `<eos>` among the first
`beam_size` becomes a finished hypothesis, the best `beam_size` others stay in the beam (as in fairseq, so
that beam size 1 is exactly greedy decoding). Finished hypotheses are ranked by the length-normalised score
`log p(y | x) / |y|^alpha` (`alpha = length_penalty`, `|y|` counts `<eos>`; `alpha = 0`: the plain log-prob).
An input is done when it has `beam_size` finished hypotheses and no unfinished one can still beat the worst of
them: an extension only lowers the log-prob, so no hypothesis can score above `best_active / max_len^alpha`.
With a beam wide enough never to prune, the search is exhaustive, hence exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch

from textgan.errors import ConfigError
from textgan.policy import BoundPolicy
from textgan.ranges import NonNegativeInt, PositiveFloat, PositiveInt, Probability, check_arguments
from textgan.sampling import greedy, sample_next

Decoder = Literal["greedy", "sample", "beam"]  # as an annotation, config_validation checks the choice
DECODERS: tuple[str, ...] = get_args(Decoder)


@dataclass(frozen=True)
class DecodingSettings:
    """How a dialogue method decodes its responses (`DialogueMethod.respond`): the `method.decoding` node,
    `conf/decoding/default.yaml`.

    Args:
        decode: greedy | sample | beam (`decode`).
        beam_size, length_penalty: beam search (`beam_search`; the score is `log p / length^length_penalty`).
        temperature, top_k, top_p: sampling (`sample_decode`; `top_k=0` and `top_p=1` filter nothing).
    """

    decode: Decoder = "greedy"
    beam_size: PositiveInt = 5
    length_penalty: float = 0.0
    temperature: PositiveFloat = 1.0
    top_k: NonNegativeInt = 0
    top_p: Probability = 1.0

    def __post_init__(self) -> None:
        check_arguments(DecodingSettings, vars(self), "decoding")
        if self.decode not in DECODERS:
            raise ConfigError(f"decoding.decode must be one of {DECODERS}, got {self.decode!r}")


@torch.no_grad()
def greedy_decode(policy: BoundPolicy, max_len: int) -> torch.Tensor:
    """Most likely token at each step: `[batch, max_len]` long."""
    return _autoregressive(policy, max_len, greedy)


@torch.no_grad()
def sample_decode(policy: BoundPolicy, max_len: int, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                  prefix: torch.Tensor | None = None) -> torch.Tensor:
    """Ancestral sampling with temperature and optional top-k / nucleus filtering: `[batch, max_len]` long.
    With `prefix` `[batch, L]` (data layout), the output starts with it and sampling continues after it (rows
    whose prefix holds `<eos>` are finished)."""
    return _autoregressive(policy, max_len, lambda logits: sample_next(logits, temperature, top_k, top_p),
                           prefix)


def _banned(policy: BoundPolicy) -> list[int]:
    ids = (policy.pad_id, getattr(policy, "bos_id", None))
    return [i for i in ids if i is not None and i != policy.eos_id]


def _ban_mask(ids: list[int], logits: torch.Tensor) -> torch.Tensor | None:
    """`[vocab]` bool, True at `ids`, on the device of `logits` (made once per decoding: indexing with a Python
    list would copy the list to the device at every step)."""
    if not ids:
        return None
    mask = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
    return mask.index_fill_(0, torch.tensor(ids, device=logits.device), True)


def _allowed(logits: torch.Tensor, banned: torch.Tensor | None) -> torch.Tensor:
    """`logits` `[n, vocab]` (float32) with the `banned` ids (a `[vocab]` bool mask) at -inf."""
    logits = logits.float()
    return logits if banned is None else logits.masked_fill(banned, float("-inf"))


def _autoregressive(policy: BoundPolicy, max_len: int, choose, prefix: torch.Tensor | None = None) -> torch.Tensor:
    first = 0 if prefix is None else prefix.shape[1]
    if first:
        if first >= max_len:
            return prefix[:, :max_len].clone()
        states, next_logits = policy.prefix_states(prefix)
        logits, state = next_logits[:, -1], states[-1]
    else:
        logits, state = policy.start()
    banned = _ban_mask(_banned(policy), logits)
    logits = _allowed(logits, banned)
    out = torch.full((logits.shape[0], max_len), policy.pad_id, dtype=torch.long, device=logits.device)
    finished = torch.zeros(logits.shape[0], dtype=torch.bool, device=logits.device)
    if first:
        out[:, :first] = prefix
        finished = (prefix == policy.eos_id).any(dim=1)
    for t in range(first, max_len):
        tok = choose(logits).masked_fill(finished, policy.pad_id)
        out[:, t] = tok
        finished |= tok == policy.eos_id
        if t == max_len - 1 or bool(finished.all()):
            break
        logits, state = policy.step(tok, state)
        logits = _allowed(logits, banned)
    return out


@torch.no_grad()
def beam_search(policy: BoundPolicy, max_len: int, beam_size: int = 5, length_penalty: float = 0.0, n_best: int = 1
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched beam search (see the module docstring).

    Returns `tokens` `[batch, n_best, max_len]` long (best first; tokens, `<eos>`, `<pad>`) and their
    normalised scores `[batch, n_best]` float32 (`-inf` for missing hypotheses when fewer than `n_best`
    exist).
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if not 1 <= n_best <= beam_size:
        raise ValueError(f"n_best must be between 1 and beam_size ({beam_size}), got {n_best}")
    eos, pad, k = policy.eos_id, policy.pad_id, beam_size
    banned = _banned(policy)
    logits, state = policy.start()
    b, vocab = logits.shape
    device = logits.device
    # beams: [b, k] scores and [b, k, t] tokens; at t=0 one live beam per input (the others -inf)
    scores = torch.full((b, k), float("-inf"), device=device)
    scores[:, 0] = 0.0
    tokens = torch.empty((b, k, 0), dtype=torch.long, device=device)
    state = policy.index_state(state, torch.arange(b, device=device).repeat_interleave(k))
    logp = _masked_log_softmax(logits, banned).repeat_interleave(k, dim=0)  # [b*k, V]
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(b)]
    done = torch.zeros(b, dtype=torch.bool, device=device)
    n_cand = min(2 * k, k * vocab)

    def norm(score: float, length: int) -> float:
        return score / (length ** length_penalty) if length_penalty else score

    for t in range(max_len):
        cand = (scores.unsqueeze(-1) + logp.view(b, k, vocab)).view(b, k * vocab)
        cand_scores, cand_idx = cand.topk(n_cand, dim=-1)  # [b, 2k]
        cand_beam, cand_tok = cand_idx // vocab, cand_idx % vocab
        is_eos = cand_tok == eos
        # finished hypotheses: <eos> among the first k candidates of inputs still searching
        new_fin = is_eos[:, :k] & torch.isfinite(cand_scores[:, :k]) & ~done.unsqueeze(1)
        for bi, ci in new_fin.nonzero().tolist():
            seq = tokens[bi, cand_beam[bi, ci]].tolist() + [eos]
            finished[bi].append((norm(float(cand_scores[bi, ci]), len(seq)), seq))
        # the beam: the best k candidates that do not end in <eos>
        keep_score = cand_scores.masked_fill(is_eos, float("-inf"))
        order = keep_score.topk(k, dim=-1).indices  # stable enough: ties between -inf rows do not matter
        scores = keep_score.gather(1, order)
        beam_src = cand_beam.gather(1, order)  # [b, k]
        next_tok = cand_tok.gather(1, order)
        tokens = torch.cat([tokens.gather(1, beam_src.unsqueeze(-1).expand(-1, -1, tokens.shape[2])),
                            next_tok.unsqueeze(-1)], dim=2)
        # inputs whose k finished hypotheses can no longer be beaten (see module docstring)
        best_active = scores.max(dim=1).values.tolist()
        for bi in range(b):
            if done[bi] or len(finished[bi]) < k:
                continue
            worst_kept = sorted((s for s, _ in finished[bi]), reverse=True)[k - 1]
            if not best_active[bi] > float("-inf") or norm(best_active[bi], max_len) <= worst_kept:
                done[bi] = True
        if t == max_len - 1 or bool(done.all()):
            break
        rows = (torch.arange(b, device=device).unsqueeze(1) * k + beam_src).view(-1)
        logits, state = policy.step(next_tok.view(-1), policy.index_state(state, rows))
        logp = _masked_log_softmax(logits, banned)
    # inputs that ran out of length: their live beams are hypotheses too (cut at max_len, no <eos>)
    for bi in range(b):
        if done[bi]:
            continue
        for j in range(k):
            s = float(scores[bi, j])
            if s > float("-inf"):
                seq = tokens[bi, j].tolist()
                finished[bi].append((norm(s, len(seq)), seq))
    out = torch.full((b, n_best, max_len), pad, dtype=torch.long, device=device)
    out_scores = torch.full((b, n_best), float("-inf"), device=device)
    for bi in range(b):
        ranked = sorted(finished[bi], key=lambda h: h[0], reverse=True)[:n_best]
        for j, (s, seq) in enumerate(ranked):
            out[bi, j, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            out_scores[bi, j] = s
    return out, out_scores


def _masked_log_softmax(logits: torch.Tensor, banned: list[int]) -> torch.Tensor:
    """Model log-probs `[n, vocab]`, with the banned ids at -inf (scores stay the model's own log-probs)."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    if banned:
        logp[:, banned] = float("-inf")
    return logp


@torch.no_grad()
def decode(policy: BoundPolicy, max_len: int, method: str = "greedy", temperature: float = 1.0, top_k: int = 0,
           top_p: float = 1.0, beam_size: int = 5, length_penalty: float = 0.0) -> torch.Tensor:
    """One response per input, `[batch, max_len]`, by `method` = greedy | sample | beam (the best
    hypothesis)."""
    if method == "greedy":
        return greedy_decode(policy, max_len)
    if method == "sample":
        return sample_decode(policy, max_len, temperature, top_k, top_p)
    if method == "beam":
        return beam_search(policy, max_len, beam_size, length_penalty, n_best=1)[0][:, 0]
    raise ValueError(f"decode must be one of {DECODERS}, got {method!r}")
