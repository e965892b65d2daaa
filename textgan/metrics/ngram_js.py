"""Jensen-Shannon divergence between the n-gram distributions of two sets of sequences, in bits.

WGAN-GP's language experiment (Gulrajani et al. 2017, section 5.2; their code's
`language_helpers.NgramLanguageModel.js_with`) monitors, for n = 1..4, the JS divergence between the
empirical character n-gram distribution of generated samples and that of the training data:

    JS(P, Q) = 1/2 KL(P || M) + 1/2 KL(Q || M),   M = (P + Q) / 2,   logs base 2 (so 0 <= JS <= 1)

where P(g) = count of n-gram g / number of n-grams, counting every window of every sequence (sequences are
fixed-length rows; padding symbols are ordinary symbols, as in the original code, which pads with a filler
character). The same figure between held-out real data and the training data is the floor a perfect generator
would reach with the same number of sequences (the original code prints it as the "validation set JSD").

N-grams are packed into one int64 per window (`id_0 * V^(n-1) + ... + id_(n-1)`); counting is `torch.unique`.
"""

from __future__ import annotations

import torch


class NgramCounts:
    """Empirical n-gram distribution of `tokens` `[num_seqs, seq_len]` (long ids < `vocab_size`).

    `keys` `[num_distinct]` (sorted packed n-grams) and `probs` `[num_distinct]` (float64, sums to 1).
    """

    def __init__(self, tokens: torch.Tensor, n: int, vocab_size: int):
        if tokens.dim() != 2:
            raise ValueError(f"n-gram counts need [num_seqs, seq_len] ids, got shape {tuple(tokens.shape)}")
        if tokens.shape[1] < n:
            raise ValueError(f"sequences of length {tokens.shape[1]} have no {n}-grams; use n <= seq_len")
        if vocab_size ** n >= 2 ** 62:
            raise ValueError(f"vocabulary {vocab_size} is too large to pack {n}-grams into int64")
        self.n = n
        tokens = tokens.long().cpu()
        packed = torch.zeros(tokens.shape[0], tokens.shape[1] - n + 1, dtype=torch.long)
        for k in range(n):
            packed = packed * vocab_size + tokens[:, k: tokens.shape[1] - n + 1 + k]
        self.keys, counts = torch.unique(packed.flatten(), sorted=True, return_counts=True)
        self.probs = counts.double() / counts.sum()


def js_divergence(p: NgramCounts, q: NgramCounts) -> float:
    """JS divergence in bits between two empirical n-gram distributions (0: identical, 1: disjoint)."""
    keys = torch.cat([p.keys, q.keys])
    union, inverse = torch.unique(keys, sorted=True, return_inverse=True)
    pp = torch.zeros(len(union), dtype=torch.float64).index_add_(0, inverse[: len(p.keys)], p.probs)
    qq = torch.zeros(len(union), dtype=torch.float64).index_add_(0, inverse[len(p.keys):], q.probs)
    m = (pp + qq) / 2

    def kl_to_m(a: torch.Tensor) -> torch.Tensor:
        nz = a > 0
        return (a[nz] * torch.log2(a[nz] / m[nz])).sum()

    return float(0.5 * kl_to_m(pp) + 0.5 * kl_to_m(qq))


def ngram_js(samples: torch.Tensor, reference: torch.Tensor | list[NgramCounts], vocab_size: int,
             orders: tuple[int, ...] = (1, 2, 3, 4)) -> dict[int, float]:
    """`{n: JS(samples' n-grams, reference's n-grams)}` for each n in `orders`. `reference` may be precomputed
    `NgramCounts` (one per order, in the same order) to avoid recounting a large training set."""
    if isinstance(reference, torch.Tensor):
        reference = [NgramCounts(reference, n, vocab_size) for n in orders]
    return {n: js_divergence(NgramCounts(samples, n, vocab_size), ref) for n, ref in zip(orders, reference)}
