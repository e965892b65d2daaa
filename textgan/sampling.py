"""Turning logits into tokens (and relaxed tokens).

All functions act on the last dimension of `logits` (`[..., vocab]`).

- `inverse_cdf`: exact categorical sampling by inverting the cumulative distribution. The default sampler; on a
  CPU it uses the two-level inversion of `textgan.fast.sampling` (block, then token), elsewhere one cumulative sum.
- `gumbel_max`: exact categorical sampling as `argmax(logits/T + Gumbel)` (one noise draw per logit).
- `gumbel_softmax`: the continuous relaxation `softmax((logits + g) / tau)` of Jang et al. 2017 /
  Maddison et al. 2017, as used by the Gumbel-softmax GAN (Kusner & Hernandez-Lobato 2016); `hard=True` gives the
  straight-through variant (one-hot forward, soft gradient backward).
- `gumbel_max_relaxed`: one Gumbel draw giving both the exact categorical sample `argmax(logits + g)` and its
  relaxation `softmax(beta (logits + g))` (RelGAN, Nie et al. 2019, eq. 2-3).
- `top_k_top_p_filter`: masks logits outside the top-k / nucleus (Holtzman et al. 2020) before sampling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from textgan.fast.sampling import two_level_inverse_cdf, uniform_below


def sample_gumbel(shape: torch.Size | tuple, device=None, dtype=torch.float32) -> torch.Tensor:
    """Standard Gumbel noise `-log(E)`, with E ~ Exp(1) (same law as -log(-log U))."""
    return -torch.empty(shape, device=device, dtype=dtype).exponential_().log()


def _check_temperature(temperature: float) -> None:
    if not temperature >= 0:
        raise ValueError(f"sampling temperature must be >= 0 (0: the argmax), got {temperature}")


def gumbel_max(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """One categorical sample of `softmax(logits / T)` per row of `logits` `[..., vocab]` -> ids `[...]` (long);
    `temperature=0`: the argmax."""
    _check_temperature(temperature)
    if temperature == 0:
        return greedy(logits)
    logits = logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    return (logits + sample_gumbel(logits.shape, logits.device)).argmax(dim=-1)


def inverse_cdf(logits: torch.Tensor, temperature: float = 1.0, num_samples: int | None = None) -> torch.Tensor:
    """Categorical samples from each row of `logits` `[..., vocab]`: ids `[...]` (long), or `[..., num_samples]`
    independent draws per row when `num_samples` is given (the distribution is built once per row).

    Inverts the CDF of `softmax(logits / T)` (`torch.softmax`: one fused pass). On a CPU by two levels, block then
    token (`textgan.fast.sampling.two_level_inverse_cdf`: no sequential cumulative sum over the vocabulary); on
    other devices by one cumulative sum over the vocabulary (`_flat_inverse_cdf`: one kernel). Both draw exactly
    the same distribution; a token of probability zero is never drawn.
    """
    logits = logits.float()
    if temperature != 1.0:
        logits = logits / temperature
    lead, vocab = logits.shape[:-1], logits.shape[-1]
    probs = torch.softmax(logits.reshape(-1, vocab), dim=-1)  # [n, V]
    # on a CPU the vectorised block sums beat a sequential cumsum; elsewhere fewer kernel launches is what counts
    sample = two_level_inverse_cdf if probs.device.type == "cpu" else _flat_inverse_cdf
    ids = sample(probs, num_samples or 1)  # [n, draws]
    return ids.view(lead + (num_samples,)) if num_samples else ids.view(lead)


def _flat_inverse_cdf(probs: torch.Tensor, draws: int) -> torch.Tensor:
    """`draws` categorical samples per row of `probs` `[n, vocab]` -> `[n, draws]`: one CDF over the vocabulary."""
    cdf = probs.cumsum(dim=-1)  # [n, V]
    u = uniform_below(cdf[:, -1:], (probs.shape[0], draws))
    return torch.searchsorted(cdf, u, right=True)


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """Most likely token per row: `[..., vocab]` -> `[...]`."""
    return logits.argmax(dim=-1)


def top_k_top_p_filter(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set logits outside the `top_k` largest and outside the smallest set with mass >= `top_p` to -inf."""
    logits = logits.float().clone()
    if top_k and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits[logits < kth] = float("-inf")
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop_sorted = cum - sorted_logits.softmax(dim=-1) >= top_p  # keep the token that crosses top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits[drop] = float("-inf")
    return logits


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """The sampler every generator uses: temperature, optional top-k/top-p, then inverse-CDF sampling.

    Draws from `softmax(logits / T)` (`[..., vocab]` -> ids `[...]`). `temperature=0` is the limit T -> 0: the
    argmax (filtering never removes it); a negative temperature is an error.
    """
    _check_temperature(temperature)
    if temperature == 0:
        return greedy(logits)
    if top_k or top_p < 1.0:
        logits = top_k_top_p_filter(logits.float() / temperature, top_k, top_p)
        return inverse_cdf(logits)
    return inverse_cdf(logits, temperature)


def gumbel_softmax(logits: torch.Tensor, tau: float, hard: bool = False) -> torch.Tensor:
    """Relaxed one-hot sample `softmax((logits + g) / tau)` `[..., vocab]`.

    With `hard=True` the forward value is the one-hot of the argmax while the gradient is that of the soft
    sample (straight-through estimator, Jang et al. 2017 section 2.2).
    """
    y = F.softmax((logits.float() + sample_gumbel(logits.shape, logits.device)) / tau, dim=-1)
    if not hard:
        return y
    one_hot = F.one_hot(y.argmax(dim=-1), y.shape[-1]).to(y.dtype)
    return one_hot - y.detach() + y


def gumbel_max_relaxed(logits: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One Gumbel draw g for `logits` `[..., vocab]`, two readings of it (RelGAN, Nie et al. 2019, eq. 2-3):

        y     = argmax(logits + g)                 ids `[...]` (long): an exact sample of softmax(logits)
        y_hat = softmax(beta (logits + g))         `[..., vocab]` float32: its relaxed one-hot

    `beta` is the inverse temperature: y_hat -> one_hot(y) as beta -> inf, and argmax(y_hat) = y for any beta > 0.
    The gradient reaches `logits` through `y_hat` only."""
    perturbed = logits.float() + sample_gumbel(logits.shape, logits.device)
    return perturbed.argmax(dim=-1), F.softmax(beta * perturbed, dim=-1)
