"""Faster scoring over a `CNNDiscriminator`'s own weights: window products and shared-prefix reuse.

`PrefixSharingScorer(d)` computes `d.prob_real` (the same function of the same parameters, with the same
gradients) differently. It reads `d` through the parts of `textgan.models.cnn.CNNDiscriminator` that the plain
path is made of (`embed`, `convs`, `filter_sizes`, `head`, `real_probability`) and imports nothing of
`textgan.models`: `textgan/fast/` stays below the models, whose sampler draws with `fast.sampling`.

- each convolution is a matrix product over its windows (`[n * windows, k * embed] @ [k * embed, filters]`), with
  bias and ReLU applied after the max over time (the same value, both being monotone, on `[n, filters]` instead of
  `[n, filters, windows]`); when scoring many rows on a CPU without gradients, one product per window on a strided
  view of the embeddings (no copy) with a running max;
- with `prefix_len` and `group`, rows `i` and `i + group` share their first `prefix_len` tokens (the Monte Carlo
  completions of one prefix, rows ordered rollout-major, as `textgan.rollout.mc_rewards` passes them): every
  window tap on the prefix gives the same product for the whole group, so it is computed once, on the first
  `group` rows, and per row only the taps on tokens after the prefix are.

Measured speed: `experiments/bench_rollout.md`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

STRIDED_MIN_ROWS = 256  # below this many rows one tall product beats one product per window


class PrefixSharingScorer:
    """SeqGAN's reward `D(y)` over the weights of `discriminator`, marked `shares_prefix` for `mc_rewards`, and
    D's logits for its training step (`logits`).

    Holds no parameters of its own: training `discriminator` changes what it computes. Dropout is the
    discriminator's own (`discriminator.eval()` for rewards without it).
    """

    shares_prefix = True  # `textgan.rollout.mc_rewards` passes `prefix_len` and `group`

    def __init__(self, discriminator: torch.nn.Module):  # a `textgan.models.cnn.CNNDiscriminator`
        self.discriminator = discriminator

    def __call__(self, tokens: torch.Tensor, prefix_len: int = 0, group: int | None = None) -> torch.Tensor:
        """`discriminator.prob_real(tokens)` `[n]` float32 for `tokens` `[n, seq_len]`; `prefix_len`, `group`: rows
        `i` and `i + group` share `tokens[:, :prefix_len]` (n must then be a multiple of `group`)."""
        d = self.discriminator
        return d.real_probability(d.head(self.pooled(tokens, prefix_len, group)))

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """`discriminator(tokens)`: logits `[n, 2]` of `tokens` `[n, seq_len]` by window products, with the same
        gradients (and, in training mode, the same dropout draws): D's training step through the fast path."""
        return self.discriminator.head(self.pooled(tokens))

    def pooled(self, tokens: torch.Tensor, prefix_len: int = 0, group: int | None = None) -> torch.Tensor:
        """`discriminator.pooled(tokens)` `[n, sum(num_filters)]`, computed by window products (see the module)."""
        d = self.discriminator
        x = d.embed(tokens)  # [n, length, embed]
        n, shared = x.shape[0], bool(group) and prefix_len > 0
        if shared and n % group:
            raise ValueError(f"{n} rows do not split into groups of {group} rows sharing a prefix")
        features = []
        for conv, k in zip(d.convs, d.filter_sizes):
            weight = conv.weight.permute(0, 2, 1).reshape(conv.out_channels, -1)  # [filters, k * embed], token-major
            best = shared_prefix_window_max(x, weight, k, prefix_len, group) if shared else window_max(x, weight, k)
            features.append(best + conv.bias)
        return F.relu(torch.cat(features, dim=1))


def window_max(x: torch.Tensor, weight: torch.Tensor, k: int) -> torch.Tensor:
    """Max over all windows of `k` tokens of `x` `[n, length, embed]` of `window @ weight.T` -> `[n, filters]`.

    Training, few rows, and off the CPU: one product over all windows (copied into a `[n * windows, k * embed]`
    matrix). Many rows on a CPU without gradients: one `[n, k * embed]` product per window on a strided view of
    `x` and a running max (wide products of cache-sized operands instead of one tall, narrow one).
    """
    n, length, embed = x.shape
    windows = length - k + 1
    if torch.is_grad_enabled() or n < STRIDED_MIN_ROWS or x.device.type != "cpu":
        flat = x.unfold(1, k, 1).transpose(2, 3).reshape(n * windows, k * embed)  # token-major windows
        return (flat @ weight.t()).view(n, windows, -1).amax(dim=1)
    best = x[:, :k].reshape(n, k * embed) @ weight.t()
    for p in range(1, windows):
        best = torch.maximum(best, x[:, p : p + k].reshape(n, k * embed) @ weight.t())
    return best


def shared_prefix_window_max(x: torch.Tensor, weight: torch.Tensor, k: int, prefix_len: int, group: int
                             ) -> torch.Tensor:
    """`window_max` for rows where `x[i]` and `x[i + group]` agree on the first `prefix_len` positions.

    A window's response is a sum over its taps; the taps that fall on prefix tokens give the same sum for every row
    of a group, so they are computed once, on the first `group` rows. Windows entirely inside the prefix cost
    nothing per row; a window that straddles the prefix end multiplies only its suffix taps per row (a strided view
    of `x`, no copy); windows entirely in the suffix are one matrix product as in `window_max`.
    """
    n, length, embed = x.shape
    filters, m = weight.shape[0], prefix_len
    best = None
    if m >= k:  # windows 0..m-k lie inside the prefix
        best = window_max(x[:group, :m], weight, k).expand(n // group, group, filters)
    for p in range(max(0, m - k + 1), min(m, length - k + 1)):  # windows that straddle the end of the prefix
        cut = (m - p) * embed  # window taps 0..m-p-1 are prefix tokens
        suffix = x[:, m : p + k].reshape(n, -1) @ weight[:, cut:].t()  # [n, filters]
        prefix = x[:group, p:m].reshape(group, -1) @ weight[:, :cut].t()  # [group, filters]
        response = suffix.view(-1, group, filters) + prefix
        best = response if best is None else torch.maximum(best, response)
    if length - k >= m:  # windows m..length-k lie in the suffix
        response = window_max(x[:, m:], weight, k).view(-1, group, filters)
        best = response if best is None else torch.maximum(best, response)
    return best.reshape(n, filters)
