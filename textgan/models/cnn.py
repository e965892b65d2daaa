"""`CNNDiscriminator`: SeqGAN's convolutional text classifier (Yu et al. 2017, section 4; after Kim 2014).

embedding -> one 1-D convolution per window size (ReLU, max over time) -> concatenation -> highway layer ->
dropout -> linear -> 2 logits (index 1 = "real"). SeqGAN adds an L2 penalty (lambda = 0.2) on the output layer;
`l2_penalty()` returns it for the loss.

This file is the paper's model and nothing else. Scoring many Monte Carlo completions that share a prefix faster,
over the same weights, is `textgan.fast.cnn.PrefixSharingScorer`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

SEQGAN_FILTER_SIZES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
SEQGAN_NUM_FILTERS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)


class CNNDiscriminator(nn.Module):
    """Classifies `[batch, seq_len]` token ids as real (1) or generated (0).

    Sequences shorter than the widest window are right-padded with zero embeddings (the embedding of `pad_id`,
    which `padding_idx` keeps at zero), so any length works.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int = 64,
        filter_sizes: Sequence[int] = SEQGAN_FILTER_SIZES,
        num_filters: Sequence[int] = SEQGAN_NUM_FILTERS,
        dropout: float = 0.25,
        l2_reg: float = 0.2,
        pad_id: int | None = None,
    ):
        super().__init__()
        if len(filter_sizes) != len(num_filters):
            raise ValueError(
                f"filter_sizes ({len(filter_sizes)}) and num_filters ({len(num_filters)}) differ in length")
        self.pad_id, self.l2_reg = pad_id, l2_reg
        self.filter_sizes = tuple(filter_sizes)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, n, k) for k, n in zip(filter_sizes, num_filters))
        total = sum(num_filters)
        self.highway = nn.Linear(total, 2 * total)  # transform gate and candidate in one matmul
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(total, 2)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """Embeddings `[n, max(seq_len, widest window), embed]` of `tokens` `[n, seq_len]`, zero-padded on the right."""
        x = self.embedding(tokens)
        return F.pad(x, (0, 0, 0, max(0, max(self.filter_sizes) - x.shape[1])))

    def pooled(self, tokens: torch.Tensor) -> torch.Tensor:
        """Max-over-time convolution features `[n, sum(num_filters)]`: conv1d -> ReLU -> max per window size."""
        x = self.embed(tokens).transpose(1, 2)  # [n, embed, length]
        return torch.cat([F.relu(conv(x)).amax(dim=2) for conv in self.convs], dim=1)

    def head(self, pooled: torch.Tensor) -> torch.Tensor:
        """Highway layer, dropout and output layer on pooled features `[n, sum(num_filters)]` -> logits `[n, 2]`."""
        gate, candidate = self.highway(pooled).chunk(2, dim=1)
        gate = torch.sigmoid(gate)
        features = gate * F.relu(candidate) + (1 - gate) * pooled
        return self.output(self.dropout(features))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits `[batch, 2]` (index 1 = real) of `tokens` `[batch, seq_len]`."""
        return self.head(self.pooled(tokens))

    def prob_real(self, tokens: torch.Tensor) -> torch.Tensor:
        """`D(y)`: the probability that each sequence of `tokens` `[batch, seq_len]` is real, `[batch]` float32.
        This is SeqGAN's reward."""
        return self.real_probability(self(tokens))

    @staticmethod
    def real_probability(logits: torch.Tensor) -> torch.Tensor:
        """`softmax(logits)[:, 1]` in float32: the probability of "real" from D's logits `[n, 2]` -> `[n]`."""
        return torch.softmax(logits.float(), dim=-1)[:, 1]

    def l2_penalty(self) -> torch.Tensor:
        """`l2_reg * (|W|^2 + |b|^2) / 2` on the output layer, as SeqGAN's `tf.nn.l2_loss`."""
        return self.l2_reg * 0.5 * (self.output.weight.pow(2).sum() + self.output.bias.pow(2).sum())
