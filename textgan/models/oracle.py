"""The synthetic oracle of SeqGAN's benchmark (Yu et al. 2017, section 5.1).

An LSTM with every parameter drawn from N(0, 1) plays the role of the real data distribution: it generates the
training set, and it scores a generator's samples (NLL-oracle). It is an `LSTMGenerator` with frozen weights.
"""

from __future__ import annotations

import torch

from textgan.models.lstm import LSTMGenerator


def build_oracle(vocab_size: int = 5000, embed_dim: int = 32, hidden_dim: int = 32, seed: int = 0) -> LSTMGenerator:
    """A deterministic oracle: the same arguments give the same weights on every machine (CPU RNG)."""
    oracle = LSTMGenerator(vocab_size, embed_dim, hidden_dim)
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(oracle.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=rng))
    oracle.requires_grad_(False)
    return oracle.eval()
