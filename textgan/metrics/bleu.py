"""BLEU-n of generated samples against a reference set, and Self-BLEU, as SeqGAN (Yu et al. 2017, Table 2),
Texygen (Zhu et al. 2018) and TextGAN-PyTorch report them.

`bleu(hypotheses, references, n)` is the mean over hypotheses of sentence-level BLEU-n (Papineni et al. 2002)
of each hypothesis against ALL references, uniform weights 1/n, smoothing method 1 of Chen & Cherry (2014)
(a zero n-gram match count becomes epsilon = 0.1). For one hypothesis h:

    p_k  = sum_g min(c_h(g), max_r c_r(g)) / max(1, sum_g c_h(g))        (clipped k-gram precision, k = 1..n)
    p_k  = 0.1 / max(1, sum_g c_h(g))   when the numerator is 0          (method 1)
    BP   = 1 if |h| > r* else exp(1 - r*/|h|),  r* = the reference length closest to |h| (ties: the shorter)
    BLEU = BP * exp(sum_k log(p_k) / n);   BLEU = 0 when no unigram matches (before smoothing).

This is exactly `nltk.translate.bleu_score.sentence_bleu(references, h, weights=(1/n,)*n,
smoothing_function=SmoothingFunction().method1)` (tests compare to 1e-12 on random data), but fast: the
clipping counts `max_r c_r(g)` over the whole reference set are built ONCE per k-gram order (a dict), not for
every hypothesis as nltk does, so the cost is O(total n-grams) instead of O(hypotheses x references).

`self_bleu(samples, n)`: each sample is the hypothesis against all OTHER samples (only its own index is left
out; a duplicate of it elsewhere is a legitimate reference), as Texygen's `SelfBleu.get_score` does in both of its
modes (its `get_bleu`, which no caller uses, keeps the sample among its own references, and every score is then
~1). High Self-BLEU = low diversity.

Texygen's protocol (`utils/metrics/Bleu.py`, `SelfBleu.py`) is this arithmetic with fewer sentences in its default
"fast" mode: BLEU against the first 500 reference sentences, Self-BLEU among the first 500 samples; the
`metrics:` config chooses the counts (`textgan.metrics.objects.BLEU`).

Tokens can be any hashable values (strings, ids). Every function returns a float in [0, 1].
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

EPSILON = 0.1  # nltk SmoothingFunction(epsilon=0.1).method1
Tokens = Sequence[Hashable]


def ngram_counts(tokens: Tokens, k: int) -> Counter:
    """Counter of the k-grams (tuples) of `tokens`."""
    return Counter(tuple(tokens[i:i + k]) for i in range(len(tokens) - k + 1))


def max_reference_counts(references: Iterable[Tokens], k: int) -> dict[tuple, int]:
    """For every k-gram, its largest count in any single reference (the clipping bound)."""
    best: dict[tuple, int] = {}
    for ref in references:
        for g, c in ngram_counts(ref, k).items():
            if c > best.get(g, 0):
                best[g] = c
    return best


def closest_length(sorted_lengths: Sequence[int], length: int) -> int:
    """The reference length closest to `length`, the shorter one on ties (nltk's `closest_ref_length`)."""
    i = bisect_left(sorted_lengths, length)
    candidates = sorted_lengths[max(0, i - 1): i + 1]
    return min(candidates, key=lambda r: (abs(r - length), r))


def sentence_score(precisions: Sequence[tuple[int, int]], hyp_len: int, ref_len: int) -> float:
    """BLEU of one hypothesis from its (clipped matches, total) per order k = 1..n (module docstring)."""
    if precisions[0][0] == 0:
        return 0.0
    if hyp_len > ref_len:
        bp = 1.0
    elif hyp_len == 0:
        bp = 0.0
    else:
        bp = math.exp(1 - ref_len / hyp_len)
    weight = 1 / len(precisions)
    logs = (weight * math.log((num if num else EPSILON) / den) for num, den in precisions)
    return bp * math.exp(math.fsum(logs))


def _precision(counts: Counter, clip) -> tuple[int, int]:
    """(clipped matches, max(1, total)) of one hypothesis' k-gram `counts`; `clip(g)` is the bound for g."""
    return sum(min(c, clip(g)) for g, c in counts.items()), max(1, sum(counts.values()))


def _check(n: int, what: str, items: Sequence) -> None:
    if n < 1:
        raise ValueError(f"BLEU order n must be >= 1, got {n}")
    if len(items) == 0:
        raise ValueError(f"{what} is empty: BLEU needs at least one token list")
    if isinstance(items[0], str):
        raise TypeError(f"{what} must be a list of token lists (e.g. text.split()), not a list of strings")


def bleu_scores(hypotheses: Sequence[Tokens], references: Sequence[Tokens], ns: Iterable[int] = (2, 3, 4, 5),
                average: bool = True) -> dict[int, float] | dict[int, list[float]]:
    """`{n: bleu(hypotheses, references, n)}` for several n, sharing the n-gram counts
    (`average=False`: `{n: [sentence BLEU-n of each hypothesis]}`)."""
    ns = sorted(set(ns))
    _check(min(ns, default=0), "hypotheses", hypotheses)
    _check(ns[0], "references", references)
    top = ns[-1]
    clips = [max_reference_counts(references, k) for k in range(1, top + 1)]
    lengths = sorted({len(r) for r in references})
    scores: dict[int, list[float]] = {n: [] for n in ns}
    for hyp in hypotheses:
        precisions = [_precision(ngram_counts(hyp, k), lambda g, c=clips[k - 1]: c.get(g, 0))
                      for k in range(1, top + 1)]
        ref_len = closest_length(lengths, len(hyp))
        for n in ns:
            scores[n].append(sentence_score(precisions[:n], len(hyp), ref_len))
    return {n: math.fsum(v) / len(v) for n, v in scores.items()} if average else scores


def bleu(hypotheses: Sequence[Tokens], references: Sequence[Tokens], n: int) -> float:
    """Mean sentence-level BLEU-n of `hypotheses` against all `references` (lists of token lists)."""
    return bleu_scores(hypotheses, references, (n,))[n]


def self_bleu_scores(samples: Sequence[Tokens], ns: Iterable[int] = (2, 3, 4, 5), average: bool = True
                     ) -> dict[int, float] | dict[int, list[float]]:
    """`{n: self_bleu(samples, n)}` for several n, sharing the n-gram counts (`average=False`: per sample)."""
    ns = sorted(set(ns))
    _check(min(ns, default=0), "samples", samples)
    if len(samples) < 2:
        raise ValueError("self-BLEU needs at least 2 samples (each is scored against the others)")
    top = ns[-1]
    # per order k: each sample's Counter, and per k-gram [best count, its holder, best count of the others]
    per_order = []
    for k in range(1, top + 1):
        counts = [ngram_counts(s, k) for s in samples]
        best: dict[tuple, list] = {}
        for i, cnt in enumerate(counts):
            for g, c in cnt.items():
                b = best.get(g)
                if b is None:
                    best[g] = [c, i, 0]
                elif c > b[0]:
                    best[g] = [c, i, b[0]]
                elif c > b[2]:
                    b[2] = c
        per_order.append((counts, best))
    length_counts = Counter(len(s) for s in samples)
    lengths = sorted(length_counts)
    scores: dict[int, list[float]] = {n: [] for n in ns}
    for i, s in enumerate(samples):
        precisions = []
        for counts, best in per_order:
            # the largest count among the OTHER samples: the best, or the runner-up when sample i holds it
            def clip(g, b=best, i=i):
                return b[g][0] if b[g][1] != i else b[g][2]

            precisions.append(_precision(counts[i], clip))
        if length_counts[len(s)] > 1:
            ref_len = len(s)  # another sample has the same length
        else:
            others = [x for x in lengths[max(0, bisect_left(lengths, len(s)) - 1):
                                         bisect_left(lengths, len(s)) + 2] if x != len(s)]
            ref_len = closest_length(others, len(s))
        for n in ns:
            scores[n].append(sentence_score(precisions[:n], len(s), ref_len))
    return {n: math.fsum(v) / len(v) for n, v in scores.items()} if average else scores


def self_bleu(samples: Sequence[Tokens], n: int) -> float:
    """Mean BLEU-n of each sample against all the other samples (never itself)."""
    return self_bleu_scores(samples, (n,))[n]
