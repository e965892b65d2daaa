"""The Gumbel-softmax GAN's networks (Kusner & Hernandez-Lobato 2016, section 3, Figure 1).

`GumbelLSTMGenerator`: noise z ~ N(0, I) sets the LSTM's initial state (h0, c0) through a linear map; at every
step the LSTM emits logits, draws a Gumbel-softmax sample y_t = softmax((logits + g) / tau) (`hard=True`:
straight-through one-hot) and feeds it back as the next input through the embedding matrix (soft embedding
`y_t @ E`), so the discriminator's gradient reaches every step. Discrete samples (`sample`) are the tau ->
0 limit:
categorical draws (Gumbel-max) fed back as one-hots.

`OneHotLSTMDiscriminator`: an LSTM that reads one-hot (real) or relaxed (generated) sequences `[batch,
seq_len,
vocab]` through a linear embedding (`x @ E`, so one-hots pick embedding rows) and scores the last hidden
state:
one logit per sequence (real = positive).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from textgan.masks import pad_after_eos
from textgan.sampling import gumbel_max, gumbel_softmax


class GumbelLSTMGenerator(nn.Module):
    """LSTM generator with noise-initialised state and Gumbel-softmax feedback.

    Args:
        vocab_size: filled in by the method.
        noise_dim: size of z (mapped linearly to h0 and c0).
        embed_dim, hidden_dim: sizes of the embedding and the LSTM.
        pad_id, eos_id: from the vocabulary; `sample` writes `<pad>` after the first `<eos>`.
    """

    def __init__(
        self,
        vocab_size: int,
        noise_dim: int = 32,
        embed_dim: int = 32,
        hidden_dim: int = 64,
        pad_id: int | None = None,
        eos_id: int | None = None,
    ):
        super().__init__()
        self.vocab_size, self.noise_dim, self.pad_id, self.eos_id = vocab_size, noise_dim, pad_id, eos_id
        self.initial_state = nn.Linear(noise_dim, 2 * hidden_dim)
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.start = nn.Parameter(torch.zeros(embed_dim))
        self.cell = nn.LSTMCell(embed_dim, hidden_dim)
        self.output = nn.Linear(hidden_dim, vocab_size)

    def noise(self, num_samples: int) -> torch.Tensor:
        return torch.randn(num_samples, self.noise_dim, device=self.start.device)

    def init_state(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(h0, c0), each `[batch, hidden]`, from noise `z` `[batch, noise_dim]` (h0 through tanh)."""
        h, c = self.initial_state(z).chunk(2, dim=-1)
        return torch.tanh(h), c

    def forward(
        self, num_samples: int, seq_len: int, tau: float, hard: bool = False, z: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Relaxed sequences `[num_samples, seq_len, vocab]` (float32, rows sum to 1), differentiable in the
        parameters. `hard=True`: straight-through one-hots (forward) with the soft samples' gradient."""
        z = self.noise(num_samples) if z is None else z
        h, c = self.init_state(z)
        x = self.start.expand(num_samples, -1)
        ys = []
        for _ in range(seq_len):
            h, c = self.cell(x, (h, c))
            y = gumbel_softmax(self.output(h), tau, hard)
            ys.append(y)
            x = y.to(self.embedding.weight.dtype) @ self.embedding.weight  # soft embedding
        return torch.stack(ys, dim=1)

    @torch.no_grad()
    def sample(self, num_samples: int, seq_len: int, temperature: float = 1.0) -> torch.Tensor:
        """Discrete sequences `[num_samples, seq_len]` (categorical draws of `softmax(logits / temperature)` fed
        back; `<pad>` after `<eos>`)."""
        h, c = self.init_state(self.noise(num_samples))
        x = self.start.expand(num_samples, -1)
        out = []
        for _ in range(seq_len):
            h, c = self.cell(x, (h, c))
            tok = gumbel_max(self.output(h), temperature)
            out.append(tok)
            x = self.embedding(tok)
        return pad_after_eos(torch.stack(out, dim=1), self.eos_id, self.pad_id)


class OneHotLSTMDiscriminator(nn.Module):
    """`[batch, seq_len, vocab]` one-hot or relaxed inputs (or `[batch, seq_len]` ids) -> logit `[batch]`."""

    def __init__(self, vocab_size: int, embed_dim: int = 32, hidden_dim: int = 64):
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Linear(vocab_size, embed_dim, bias=False)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.output = nn.Linear(hidden_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_floating_point(x):
            x = F.one_hot(x, self.vocab_size).to(self.embed.weight.dtype)
        if x.shape[-1] != self.vocab_size:
            raise ValueError(
                f"discriminator expects [batch, seq_len, {self.vocab_size}] inputs, got {tuple(x.shape)}"
            )
        _, (h, _) = self.lstm(self.embed(x))
        return self.output(h[-1]).squeeze(-1)
