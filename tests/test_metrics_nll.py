"""NLL-test and perplexity against a hand-computed model."""

from __future__ import annotations

import math

import pytest
import torch

from textgan.metrics import perplexity, sequence_nll


class FixedModel(torch.nn.Module):
    """log p(token) does not depend on the prefix: a fixed distribution over 3 tokens."""

    probs = torch.tensor([0.5, 0.25, 0.25])

    def log_probs(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.probs.log()[tokens]


def test_sequence_nll_excludes_padding_and_averages_tokens():
    pad = 0
    tokens = torch.tensor([[1, 2, 0, 0], [1, 1, 1, 2]])  # 2 + 4 real tokens, each with p = 0.25
    assert sequence_nll(FixedModel(), tokens, pad_id=pad, batch_size=1) == pytest.approx(math.log(4))
    # without a pad id every position counts: 2 tokens of p = 0.5 among 8
    expected = -(6 * math.log(0.25) + 2 * math.log(0.5)) / 8
    assert sequence_nll(FixedModel(), tokens, pad_id=None) == pytest.approx(expected)
    assert perplexity(math.log(4)) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="no tokens"):
        sequence_nll(FixedModel(), torch.zeros(2, 3, dtype=torch.long), pad_id=0)
