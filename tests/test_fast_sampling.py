"""`textgan.fast.sampling.two_level_inverse_cdf`: the CPU drop-in for the flat inverse CDF draws the same
distribution (both against the exact probabilities, on the same rows)."""

import pytest
import torch

from textgan.fast.sampling import block_count, two_level_inverse_cdf
from textgan.sampling import _flat_inverse_cdf


@pytest.mark.parametrize("vocab", [3, 50, 5000, 5003])
def test_two_level_and_flat_inverse_cdf_draw_the_same_distribution(vocab):
    torch.manual_seed(11)
    logits = torch.randn(2, vocab) * 2
    logits[:, 1] = float("-inf")  # a zero-probability token, never drawn by either
    probs = logits.softmax(-1)
    draws = 100_000
    for sampler in (two_level_inverse_cdf, _flat_inverse_cdf):
        ids = sampler(probs, draws)
        assert ids.shape == (2, draws) and ids.dtype == torch.long
        for row in range(2):
            freq = torch.bincount(ids[row], minlength=vocab).float() / draws
            p = probs[row]
            # 5 standard deviations of the most variable token's binomial frequency
            assert (freq - p).abs().max() < 5 * (p * (1 - p) / draws).sqrt().max(), sampler.__name__
            assert freq[1] == 0


def test_block_count_is_about_the_square_root_and_divides_when_it_can():
    assert block_count(5000) == 40 and 5000 % 40 == 0  # 40 blocks of 125: no tail block
    assert block_count(5003) == 64  # prime-ish: no divisor near sqrt; a multiple of 8, with a tail block
    assert [block_count(v) for v in (1, 2, 7, 49)] == [1, 1, 2, 7]
