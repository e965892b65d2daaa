"""Padding masks. A sequence is its tokens up to and including `<eos>`, then `<pad>` to the batch length."""

from __future__ import annotations

import torch


def token_mask(tokens: torch.Tensor, pad_id: int | None) -> torch.Tensor:
    """`[batch, seq_len]` bool, True on real tokens (the `<eos>` included), False on padding."""
    if pad_id is None:
        return torch.ones_like(tokens, dtype=torch.bool)
    return tokens != pad_id


def pad_after_eos(tokens: torch.Tensor, eos_id: int | None, pad_id: int | None) -> torch.Tensor:
    """Replace every token after the first `<eos>` of each row by `<pad>` (`[batch, seq_len]` -> same)."""
    if eos_id is None or pad_id is None:
        return tokens
    is_eos = (tokens == eos_id).long()
    after = (is_eos.cumsum(dim=1) - is_eos) > 0  # strictly after the first eos
    return tokens.masked_fill(after, pad_id)
