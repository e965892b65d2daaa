"""BLEU of dialogue responses: each generated response against ITS OWN human response(s).

`textgan.metrics.bleu.bleu(hypotheses, references, n)` scores every hypothesis against one shared reference
set (unconditional text generation). A response generator is scored pair by pair instead, as in the dialogue
literature (e.g. Li et al. 2016, 2017):

    response_bleu = 1/N sum_i BLEU-n(generated_i | references_i)

with the same sentence-level BLEU-n (uniform weights, smoothing method 1 of Chen & Cherry 2014; equal to
nltk's `sentence_bleu(references_i, generated_i, weights=(1/n,)*n,
smoothing_function=SmoothingFunction().method1)`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from textgan.metrics.bleu import bleu

Tokens = Sequence[Hashable]


def response_bleu(generated: Sequence[Tokens], references: Sequence[Sequence[Tokens]], n: int) -> float:
    """Mean over pairs of BLEU-n of `generated[i]` (a token list) against `references[i]` (a list of token
    lists, usually the one human response)."""
    if len(generated) != len(references):
        raise ValueError(f"need one reference list per response: {len(generated)} responses, "
                         f"{len(references)} reference lists")
    if not generated:
        raise ValueError("no responses to score")
    return sum(bleu([g], refs, n) for g, refs in zip(generated, references)) / len(generated)
