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


@pytest.mark.parametrize("vocab", [1, 2, 7, 64, 300, 5000, 5003])
def test_inverse_cdf_two_levels_match_softmax_for_any_vocab(vocab):
    """Blocks of tokens j, j + blocks, ... plus a shorter tail block: every token keeps its softmax probability,
    for vocabularies with and without a tail, including zero-probability tokens inside a block and in the tail."""
    torch.manual_seed(5)
    logits = torch.randn(vocab) * 2
    zero = [i for i in (3, vocab - 1) if vocab > 5]
    logits[zero] = float("-inf")
    draws = inverse_cdf(logits.expand(2, 3, vocab), num_samples=40_000)
    assert draws.shape == (2, 3, 40_000)
    freq = torch.bincount(draws.flatten(), minlength=vocab).float() / draws.numel()
    p = logits.softmax(-1)
    # a binomial frequency over 240k draws has standard deviation <= 0.001
    assert (freq - p).abs().max() < 5 * (p * (1 - p) / draws.numel()).sqrt().max() + 1e-9
    assert all(freq[i] == 0 for i in zero)


def test_inverse_cdf_rows_are_independent_and_shaped():
    torch.manual_seed(6)
    logits = torch.full((4, 5, 50), -30.0)
    target = torch.randint(0, 50, (4, 5))
    logits.scatter_(-1, target.unsqueeze(-1), 30.0)  # each row puts all its mass on its own token
    assert torch.equal(inverse_cdf(logits), target)


def test_flat_inverse_cdf_matches_softmax():
    """The sampler `inverse_cdf` uses off the CPU (one CDF over the vocabulary), called directly here."""
    from textgan.sampling import _flat_inverse_cdf

    torch.manual_seed(4)
    probs = torch.cat([LOGITS.softmax(-1)[None], torch.tensor([[0.5, 0.0, 0.0, 0.5, 0.0]])])  # zeros never drawn
    draws = _flat_inverse_cdf(probs, 200_000)
    assert draws.shape == (2, 200_000)
    for row in range(2):
        freq = torch.bincount(draws[row], minlength=5).float() / draws.shape[1]
        assert torch.allclose(freq, probs[row], atol=0.004)
    assert set(draws[1].unique().tolist()) == {0, 3}


def test_inverse_cdf_uses_the_two_level_path_on_cpu():
    from textgan.fast.sampling import two_level_inverse_cdf
    from textgan.sampling import _flat_inverse_cdf

    logits = torch.randn(256, 500)
    probs = torch.softmax(logits, dim=-1)

    def seeded(fn, *args):
        torch.manual_seed(5)
        return fn(*args)

    draws = seeded(inverse_cdf, logits)
    assert torch.equal(draws, seeded(two_level_inverse_cdf, probs, 1).view(-1))
    assert not torch.equal(draws, seeded(_flat_inverse_cdf, probs, 1).view(-1))
