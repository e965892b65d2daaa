"""Two-level inverse-CDF sampling: the CPU drop-in for `textgan.sampling`'s flat inverse CDF.

Both invert the CDF of the same `probs` `[n, vocab]` and draw exactly the categorical distribution; they differ in
cost. The flat path takes one cumulative sum over the vocabulary per row (one kernel: what counts on a GPU). Here
the vocabulary is cut into about sqrt(vocab) blocks of about sqrt(vocab) tokens: a first uniform picks a block by
its probability mass (one vectorised sum over the vocabulary instead of a sequential cumulative sum), a second
uniform picks a token inside that block in proportion to its probability; the product of the two choices is the
categorical distribution. `textgan.sampling.inverse_cdf` uses it on CPUs. Measured speed:
`experiments/bench_rollout.md`.
"""

from __future__ import annotations

import functools
import math

import torch


def two_level_inverse_cdf(probs: torch.Tensor, draws: int) -> torch.Tensor:
    """`draws` categorical samples per row of `probs` `[n, vocab]` -> `[n, draws]`: block, then token in block."""
    n, vocab = probs.shape
    # block j holds tokens j, j + blocks, j + 2 * blocks, ... (block sums then add contiguous vectors); the
    # vocab % blocks tokens left over, if any, form one more block, shorter than the others
    blocks = block_count(vocab)
    size, full = vocab // blocks, vocab // blocks * blocks
    mass = (probs if full == vocab else probs[:, :full]).reshape(n, size, blocks).sum(dim=1)  # [n, blocks]
    if full < vocab:
        mass = torch.cat([mass, probs[:, full:].sum(dim=-1, keepdim=True)], dim=1)
    block_cdf = mass.cumsum_(dim=-1)  # [n, blocks (+1)]
    u = uniform_below(block_cdf[:, -1:], (n, draws))
    block = torch.searchsorted(block_cdf, u, right=True)  # [n, draws]
    member = torch.arange(size, device=probs.device)
    tail = block == blocks
    index = torch.where(tail.unsqueeze(-1), full + member, block.unsqueeze(-1) + member * blocks)  # [n, draws, size]
    inside = index < vocab
    within = probs.gather(1, index.view(n, -1).clamp_max(vocab - 1)).view(n, draws, size).mul_(inside)
    within_cdf = within.cumsum_(dim=-1)
    u = uniform_below(within_cdf[..., -1:], (n, draws, 1))
    pos = torch.searchsorted(within_cdf, u, right=True)  # [n, draws, 1]
    return index.gather(-1, pos).squeeze(-1)


@functools.cache
def block_count(vocab: int) -> int:
    """Number of blocks for `two_level_inverse_cdf`: about sqrt(vocab), a multiple of the SIMD width (8) when the
    vocabulary is large enough, and preferably a divisor of the vocabulary (no tail block: the block sums then read
    one contiguous matrix)."""
    root = math.isqrt(vocab)
    if root < 8:
        return max(1, root)
    divisors = [b for b in range(8, 4 * root + 1, 8) if vocab % b == 0 and b * 4 >= root]
    return min(divisors, key=lambda b: abs(math.log(b / root))) if divisors else root // 8 * 8


def uniform_below(total: torch.Tensor, shape: tuple) -> torch.Tensor:
    """`U * total` `shape` with U ~ U[0, 1), kept strictly below `total` (rounding could otherwise reach it and
    pick an entry past the last one with positive mass). Both inverse-CDF samplers draw with it."""
    u = torch.rand(shape, device=total.device) * total
    return torch.minimum(u, torch.nextafter(total, torch.zeros_like(total)))
