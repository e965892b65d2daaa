"""RelGAN's discriminator (Nie, Narodytska & Patel, ICLR 2019, section 2.3, Figure 2): a CNN over multiple
embedded representations of its input.

The input is a one-hot (real) or relaxed one-hot (generated) sequence X `[batch, seq_len, vocab]`. One
embedding matrix E `[vocab, embed_dim]` gives X E `[batch, seq_len, embed_dim]`, read as `num_rep`
representations of `embed_dim / num_rep` dimensions each (the authors' oracle and COCO runs: 64 of 1). Every
representation goes through the same CNN: convolutions of widths `filter_sizes` (2-5) spanning one
representation's dimensions, with `num_filters` (300 each) filters, ReLU, max-pooling over time; then a highway
layer (ReLU transform, gates without bias, as the authors' `highway(..., bias=0)`), dropout (0.25, keep 0.75),
a linear layer of 100 and a linear logit. The output is one logit per representation, `[batch, num_rep]`: the
loss is averaged over all `batch * num_rep` logits, as in the authors' code.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


class RelGANDiscriminator(nn.Module):
    """`[batch, seq_len, vocab]` (relaxed) one-hots, or `[batch, seq_len]` ids -> logits `[batch, num_rep]`.

    Args:
        vocab_size: filled in by the method.
        embed_dim: total embedding size, split into `num_rep` representations (RelGAN: 64 and 64).
        num_rep: number of embedded representations (`embed_dim` must be a multiple of it).
        filter_sizes, num_filters: convolution widths over time and filters of each (RelGAN: 2-5, 300 each).
        hidden_dim: the linear layer before the logit (RelGAN: 100).
        dropout: dropout probability after the highway layer (RelGAN: 0.25).
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, num_rep: int = 64,
                 filter_sizes: Sequence[int] = (2, 3, 4, 5), num_filters: Sequence[int] = (300, 300, 300, 300),
                 hidden_dim: int = 100, dropout: float = 0.25):
        super().__init__()
        if embed_dim % num_rep:
            raise ValueError(f"method.discriminator.embed_dim={embed_dim} is not a multiple of "
                             f"method.discriminator.num_rep={num_rep}: each representation needs as many dimensions")
        if len(filter_sizes) != len(num_filters):
            raise ValueError(f"method.discriminator.filter_sizes ({len(filter_sizes)}) and num_filters "
                             f"({len(num_filters)}) need one entry per convolution each")
        self.vocab_size, self.num_rep = vocab_size, num_rep
        self.filter_sizes = list(filter_sizes)
        width = embed_dim // num_rep
        self.embedding = nn.Parameter(torch.empty(vocab_size, embed_dim))
        nn.init.normal_(self.embedding, std=vocab_size ** -0.5)
        self.convs = nn.ModuleList(nn.Conv2d(1, n, kernel_size=(k, width), stride=(1, width))
                                   for k, n in zip(filter_sizes, num_filters))
        features = sum(num_filters)
        self.highway_transform = nn.Linear(features, features, bias=False)
        self.highway_gate = nn.Linear(features, features, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.hidden = nn.Linear(features, hidden_dim)
        self.output = nn.Linear(hidden_dim, 1)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """X E `[batch, seq_len, embed_dim]` (ids pick rows of E, the same as their one-hots)."""
        if not torch.is_floating_point(x):
            return F.embedding(x, self.embedding)
        if x.shape[-1] != self.vocab_size:
            raise ValueError(f"discriminator expects [batch, seq_len, {self.vocab_size}] inputs, got {tuple(x.shape)}")
        return x.to(self.embedding.dtype) @ self.embedding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        emb = self.embed(x).unsqueeze(1)  # [b, 1, seq_len, embed_dim]
        if emb.shape[2] < max(self.filter_sizes):
            raise ValueError(f"sequences of length {emb.shape[2]} are shorter than the widest filter "
                             f"({max(self.filter_sizes)}): lower method.discriminator.filter_sizes")
        # each conv: [b, filters, seq_len - k + 1, num_rep]; max over time -> [b, filters, num_rep]
        pooled = torch.cat([F.relu(conv(emb)).amax(dim=2) for conv in self.convs], dim=1)
        h = pooled.transpose(1, 2)  # [b, num_rep, features]: one feature vector per representation
        gate = torch.sigmoid(self.highway_gate(h))
        h = gate * F.relu(self.highway_transform(h)) + (1 - gate) * h
        return self.output(self.hidden(self.dropout(h))).squeeze(-1)
