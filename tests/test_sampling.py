"""Samplers: each draws from the softmax distribution (checked by frequencies), top-k/top-p masks."""

import pytest
import torch

from textgan.sampling import gumbel_max, inverse_cdf, sample_next, top_k_top_p_filter

LOGITS = torch.tensor([2.0, 0.0, -1.0, 1.0, -30.0])


@pytest.mark.parametrize("sampler", [inverse_cdf, gumbel_max])
def test_sampler_matches_softmax(sampler):
    torch.manual_seed(0)
    draws = sampler(LOGITS.expand(200_000, -1))
    freq = torch.bincount(draws, minlength=5).float() / len(draws)
    assert torch.allclose(freq, LOGITS.softmax(-1), atol=0.004)
    assert freq[4] == 0  # probability ~1e-14: never drawn


def test_temperature_and_zero_probability_tokens():
    torch.manual_seed(1)
    masked = torch.tensor([0.0, float("-inf"), 0.0])
    assert (inverse_cdf(masked.expand(10_000, -1)) != 1).all()
    cold = inverse_cdf(LOGITS.expand(10_000, -1), temperature=0.05)
    assert (cold == 0).float().mean() > 0.99


def test_top_k_top_p():
    f = top_k_top_p_filter(LOGITS[None], top_k=2)
    assert torch.isfinite(f).squeeze().tolist() == [True, False, False, True, False]
    p = LOGITS.softmax(-1)  # sorted probs: 0.64, 0.24, 0.09, 0.03 -> top_p=0.7 keeps the first two
    assert p[0] < 0.7 < p[0] + p[3]
    f = top_k_top_p_filter(LOGITS[None], top_p=0.7)
    assert torch.isfinite(f).squeeze().tolist() == [True, False, False, True, False]
    torch.manual_seed(2)
    s = sample_next(LOGITS.expand(5000, -1), top_k=1)
    assert (s == 0).all()


def test_inverse_cdf_many_draws_per_row():
    torch.manual_seed(3)
    logits = torch.stack([LOGITS, LOGITS.flip(0)])
    draws = inverse_cdf(logits, num_samples=100_000)
    assert draws.shape == (2, 100_000)
    for row in range(2):
        freq = torch.bincount(draws[row], minlength=5).float() / draws.shape[1]
        assert torch.allclose(freq, logits[row].softmax(-1), atol=0.005)
