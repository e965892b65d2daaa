"""BLEU and Self-BLEU: equal to nltk's sentence_bleu + method1 on random data, and hand-computed cases."""

from __future__ import annotations

import math
import random

import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from textgan.metrics import bleu, bleu_scores, self_bleu, self_bleu_scores

SMOOTH = SmoothingFunction().method1


def nltk_bleu(hyps, refs, n):
    return sum(sentence_bleu(refs, h, (1 / n,) * n, smoothing_function=SMOOTH) for h in hyps) / len(hyps)


def nltk_self_bleu(samples, n):
    return sum(sentence_bleu(samples[:i] + samples[i + 1:], s, (1 / n,) * n, smoothing_function=SMOOTH)
               for i, s in enumerate(samples)) / len(samples)


def random_corpus(rng, count, vocab, max_len):
    return [[f"w{rng.randrange(vocab)}" for _ in range(rng.randint(0, max_len))] for _ in range(count)]


@pytest.mark.parametrize("seed", range(6))
def test_equals_nltk_on_random_data(seed):
    rng = random.Random(seed)
    vocab = [3, 6, 20, 50, 4, 10][seed]
    refs = random_corpus(rng, rng.randint(1, 40), vocab, 14)
    hyps = random_corpus(rng, rng.randint(1, 20), vocab, 14)
    samples = hyps + [list(hyps[0])] + random_corpus(rng, 3, vocab, 14)  # a duplicate: a legitimate reference
    for n in range(1, 6):
        assert bleu(hyps, refs, n) == pytest.approx(nltk_bleu(hyps, refs, n), abs=1e-12, rel=0)
        assert self_bleu(samples, n) == pytest.approx(nltk_self_bleu(samples, n), abs=1e-12, rel=0)
    assert bleu_scores(hyps, refs, (2, 4)) == {2: bleu(hyps, refs, 2), 4: bleu(hyps, refs, 4)}
    assert self_bleu_scores(samples, (3,)) == {3: self_bleu(samples, 3)}


def test_hand_computed():
    refs = [["a", "b", "c", "d"], ["a", "a", "x"]]
    # hyp "a a b e": unigrams a:2 (clip 2, from ref 2), b:1, e:0 -> 3/4; bigrams aa (1), ab (1), be (0) -> 2/3
    # closest reference length to 4: 4 -> BP = 1
    assert bleu([["a", "a", "b", "e"]], refs, 2) == pytest.approx(math.sqrt(3 / 4 * 2 / 3))
    # hyp "a b": p1 = 1, p2 = 1, closest ref length 3 (|4-2| = 2 vs |3-2| = 1) -> BP = exp(1 - 3/2)
    assert bleu([["a", "b"]], refs, 2) == pytest.approx(math.exp(1 - 3 / 2))
    # hyp "b a": p1 = 1, p2 = 0 -> method 1: 0.1 / 1
    assert bleu([["b", "a"]], refs, 2) == pytest.approx(math.exp(1 - 3 / 2) * math.sqrt(0.1))
    # no unigram match: 0 (no smoothing); a tie in length (3 and 5 for a hypothesis of 4) takes the shorter
    assert bleu([["z"]], refs, 2) == 0.0
    tie = [["a", "b", "c", "d", "x"], ["q", "q", "q"]]
    assert bleu([["a", "b", "c", "d"]], tie, 1) == 1.0  # closest lengths 5 and 3: BP from 3
    refs35 = [["a", "b", "c"], ["a", "b", "x", "y", "z"]]
    assert bleu([["a", "b"]], refs35, 1) == pytest.approx(math.exp(-0.5))


def test_self_bleu_never_uses_the_sample_itself():
    assert self_bleu([["a", "b", "c"], ["x", "y", "z"]], 2) == 0.0  # a sample among its own references would give 1.0
    assert self_bleu([["a", "b", "c"], ["a", "b", "c"]], 2) == 1.0  # a duplicate is another sample
    three = [["a", "b", "c"], ["a", "b", "c"], ["q", "r", "s"]]
    assert self_bleu(three, 2) == pytest.approx(2 / 3)


def test_range_and_errors():
    rng = random.Random(7)
    hyps, refs = random_corpus(rng, 30, 8, 10), random_corpus(rng, 30, 8, 10)
    for n in (2, 3, 4, 5):
        assert 0.0 <= bleu(hyps, refs, n) <= 1.0 and 0.0 <= self_bleu(hyps, n) <= 1.0
        assert isinstance(bleu(hyps, refs, n), float)
    with pytest.raises(TypeError, match="token lists"):
        bleu(["a b c"], [["a"]], 2)
    with pytest.raises(ValueError, match="empty"):
        bleu([["a"]], [], 2)
    with pytest.raises(ValueError, match="at least 2"):
        self_bleu([["a"]], 2)
