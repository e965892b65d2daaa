"""WGAN-GP's language models (Gulrajani et al. 2017, section 5.2 and appendix; their `gan_language.py`):
a non-autoregressive residual 1-D CNN generator that emits a softmax at every position at once, and its
mirror-image critic that reads one-hot real sequences or the generator's softmaxes.

Generator: z `[batch, noise_dim]` -> linear -> `[batch, dim, seq_len]` -> `num_blocks` residual blocks ->
1x1 conv -> softmax over the vocabulary: `[batch, seq_len, vocab]`.
Critic: `[batch, seq_len, vocab]` -> 1x1 conv -> `num_blocks` residual blocks -> flatten -> linear.
Residual block: `x + residual_scale * conv(relu(conv(relu(x))))`, kernel 5, "same" padding (paper: scale 0.3).
The ReLUs are not in-place (the PyTorch port's in-place ReLU also rectified the skip path; the TF code's not).
"""

from __future__ import annotations

import torch
import torch.nn as nn


class ResidualConvBlock(nn.Module):
    """`x + scale * conv(relu(conv(relu(x))))` on `[batch, dim, seq_len]`."""

    def __init__(self, dim: int, kernel_size: int = 5, residual_scale: float = 0.3):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd (same-length convolutions), got {kernel_size}")
        self.residual_scale = residual_scale
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2),
            nn.ReLU(),
            nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual_scale * self.body(x)


class ConvResNetGenerator(nn.Module):
    """Noise -> per-position distributions over the vocabulary, all positions at once (not autoregressive).

    Args:
        vocab_size: output vocabulary (filled in by the method).
        seq_len: fixed output length (filled in by the method; paper 32).
        noise_dim: size of z ~ N(0, I) (paper 128).
        dim: channels of every block (paper 512).
        num_blocks, kernel_size, residual_scale: paper 5, 5, 0.3.
    """

    def __init__(self, vocab_size: int, seq_len: int, noise_dim: int = 128, dim: int = 512,
                 num_blocks: int = 5, kernel_size: int = 5, residual_scale: float = 0.3):
        super().__init__()
        self.vocab_size, self.seq_len, self.noise_dim, self.dim = vocab_size, seq_len, noise_dim, dim
        self.input = nn.Linear(noise_dim, dim * seq_len)
        self.blocks = nn.Sequential(*(ResidualConvBlock(dim, kernel_size, residual_scale)
                                      for _ in range(num_blocks)))
        self.output = nn.Conv1d(dim, vocab_size, 1)

    def noise(self, num_samples: int) -> torch.Tensor:
        """z ~ N(0, I): `[num_samples, noise_dim]` on the model's device."""
        return torch.randn(num_samples, self.noise_dim, device=self.input.weight.device)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """`[batch, seq_len, vocab]` logits for noise `z` `[batch, noise_dim]`."""
        x = self.input(z).view(-1, self.dim, self.seq_len)
        return self.output(self.blocks(x)).transpose(1, 2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Softmax `[batch, seq_len, vocab]` (float32): what the critic reads."""
        return torch.softmax(self.logits(z).float(), dim=-1)

    @torch.no_grad()
    def sample(self, num_samples: int, seq_len: int | None = None, **_ignored) -> torch.Tensor:
        """Argmax of the softmax at every position (the original's decoding): `[num_samples, seq_len]`."""
        if seq_len is not None and seq_len != self.seq_len:
            raise ValueError(f"this generator emits sequences of length {self.seq_len}, not {seq_len}; "
                             "it is not autoregressive, so its length is fixed when it is built")
        return self.logits(self.noise(num_samples)).argmax(dim=-1)


class ConvResNetCritic(nn.Module):
    """WGAN critic: `[batch, seq_len, vocab]` one-hot or softmax inputs -> unbounded score `[batch]`.

    Integer inputs `[batch, seq_len]` are converted to one-hot first.
    """

    def __init__(self, vocab_size: int, seq_len: int, dim: int = 512, num_blocks: int = 5,
                 kernel_size: int = 5, residual_scale: float = 0.3):
        super().__init__()
        self.vocab_size, self.seq_len, self.dim = vocab_size, seq_len, dim
        self.input = nn.Conv1d(vocab_size, dim, 1)
        self.blocks = nn.Sequential(*(ResidualConvBlock(dim, kernel_size, residual_scale)
                                      for _ in range(num_blocks)))
        self.output = nn.Linear(dim * seq_len, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_floating_point(x):
            x = nn.functional.one_hot(x, self.vocab_size).to(self.input.weight.dtype)
        if x.shape[1:] != (self.seq_len, self.vocab_size):
            raise ValueError(f"critic expects [batch, {self.seq_len}, {self.vocab_size}] inputs, got "
                             f"{tuple(x.shape)}; set the data's seq_len to the method's seq_len")
        h = self.blocks(self.input(x.transpose(1, 2)))
        return self.output(h.flatten(1)).squeeze(-1)
