"""Diversity of generated responses (Li et al. 2016, "A Diversity-Promoting Objective Function for Neural
Conversation Models", sec. 4.2).

- `distinct_n` (logged as `distinct_<n>`): the number of distinct n-grams in all responses divided by the total
  number of n-grams (corpus level; 0.0 when there is no n-gram at all).
- `distinct_n_per_token` (logged as `distinct_<n>_per_token`): the papers' own definition (Li et al. 2016a,
  sec. 4.2; Li et al. 2016b, sec. 5.2): distinct n-grams divided by the total number of generated *tokens*
  (0.0 for no tokens). For n = 1 both are equal; for n > 1 this one is smaller.
- `average_length`: the mean number of tokens per response.

Responses are token lists (strings or ids), without `<eos>` / `<pad>` (`Vocabulary.decode` strips them).
"""

from __future__ import annotations

from collections.abc import Sequence


def ngrams(tokens: Sequence, n: int) -> list[tuple]:
    """The n-grams of one token list, in order."""
    return [tuple(tokens[i: i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(responses: Sequence[Sequence], n: int) -> float:
    """distinct-n = |unique n-grams| / |n-grams| over all `responses`."""
    if n < 1:
        raise ValueError(f"distinct-n needs n >= 1, got {n}")
    total, unique = 0, set()
    for tokens in responses:
        grams = ngrams(tokens, n)
        total += len(grams)
        unique.update(grams)
    return len(unique) / total if total else 0.0


def distinct_n_per_token(responses: Sequence[Sequence], n: int) -> float:
    """distinct-n as Li et al. define it: |unique n-grams| / |tokens| over all `responses`."""
    if n < 1:
        raise ValueError(f"distinct-n needs n >= 1, got {n}")
    tokens, unique = 0, set()
    for response in responses:
        tokens += len(response)
        unique.update(ngrams(response, n))
    return len(unique) / tokens if tokens else 0.0


def average_length(responses: Sequence[Sequence]) -> float:
    """Mean number of tokens per response (0.0 for no responses)."""
    return sum(len(r) for r in responses) / len(responses) if responses else 0.0
