"""The n-gram JS divergence (WGAN-GP's language metric) against a direct port of the original
`NgramLanguageModel.js_with` and hand-computed values."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from textgan.metrics.ngram_js import NgramCounts, js_divergence, ngram_js


def reference_js(a: list[list[int]], b: list[list[int]], n: int) -> float:
    """The original code's computation (language_helpers.py): log-likelihoods of n-grams under each model,
    JS = (KL(P||M) + KL(Q||M)) / 2 / log 2."""
    def counts(seqs):
        c = Counter(tuple(s[i:i + n]) for s in seqs for i in range(len(s) - n + 1))
        total = sum(c.values())
        return {k: v / total for k, v in c.items()}

    p, q = counts(a), counts(b)
    js = 0.0
    for dist in (p, q):
        for g, pg in dist.items():
            m = 0.5 * (p.get(g, 0.0) + q.get(g, 0.0))
            js += 0.5 * pg * math.log(pg / m)
    return js / math.log(2)


def test_identical_sets_have_zero_and_disjoint_sets_one_bit():
    a = torch.tensor([[0, 1, 2, 3], [3, 2, 1, 0]])
    assert js_divergence(NgramCounts(a, 2, 4), NgramCounts(a.flip(0), 2, 4)) == pytest.approx(0.0, abs=1e-12)
    b = torch.tensor([[4, 5, 4, 5]])
    assert js_divergence(NgramCounts(a, 1, 6), NgramCounts(b, 1, 6)) == pytest.approx(1.0)


def test_hand_computed_unigram_value():
    # P = (1/2, 1/2) over {0, 1}; Q = (1) on {0}. M = (3/4, 1/4).
    # KL(P||M) = 1/2 log2(2/3) + 1/2 log2(2); KL(Q||M) = log2(4/3)
    expected = 0.5 * (0.5 * math.log2(2 / 3) + 0.5 * math.log2(2)) + 0.5 * math.log2(4 / 3)
    got = js_divergence(NgramCounts(torch.tensor([[0, 1]]), 1, 2), NgramCounts(torch.tensor([[0, 0]]), 1, 2))
    assert got == pytest.approx(expected)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_matches_the_original_code_on_random_sequences(n):
    g = torch.Generator().manual_seed(n)
    a = torch.randint(0, 5, (40, 9), generator=g)
    b = torch.randint(0, 6, (30, 9), generator=g)
    got = ngram_js(b, a, vocab_size=6, orders=(n,))[n]
    assert got == pytest.approx(reference_js(a.tolist(), b.tolist(), n), rel=1e-9)
    assert 0.0 < got < 1.0


def test_precomputed_reference_gives_the_same_values():
    a, b = torch.randint(0, 7, (20, 6)), torch.randint(0, 7, (20, 6))
    ref = [NgramCounts(a, n, 7) for n in (1, 2, 3, 4)]
    assert ngram_js(b, ref, 7) == ngram_js(b, a, 7)


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match="no 5-grams"):
        NgramCounts(torch.zeros(2, 4, dtype=torch.long), 5, 3)
    with pytest.raises(ValueError, match=r"\[num_seqs, seq_len\]"):
        NgramCounts(torch.zeros(4, dtype=torch.long), 1, 3)
