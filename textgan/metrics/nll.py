"""Likelihood metrics for autoregressive generators.

- `nll_oracle` (SeqGAN, Yu et al. 2017, eq. 12): the oracle's mean per-token negative log-likelihood of samples
  drawn from the generator. Lower is better; the oracle's own samples score its entropy rate.
- `sequence_nll` / NLL-test: the generator's mean per-token NLL of held-out real data; `perplexity` = exp of it.
"""

from __future__ import annotations

import math

import torch

from textgan.masks import token_mask


@torch.no_grad()
def nll_sums(model, tokens: torch.Tensor, pad_id: int | None = None, batch_size: int = 1024,
             temperature: float = 1.0) -> tuple[float, int]:
    """`(summed NLL in nats, number of tokens scored)` of `tokens` `[n, seq_len]` under `model` (anything with
    `log_probs`): the two sums `sequence_nll` divides, kept apart so that sums over several batches or processes
    add up to the NLL of all of them (`textgan.metrics.objects.NLLOracle`).

    Padding (`pad_id`) is excluded; `<eos>` counts as a token. `temperature` T != 1 scores under the tempered
    model, `-log softmax(logits / T)[y_t]` (the model's `log_probs(tokens, temperature=T)`).
    """
    kwargs = {} if temperature == 1.0 else {"temperature": temperature}
    total, count = 0.0, 0
    for chunk in tokens.split(batch_size):
        mask = token_mask(chunk, pad_id)
        logp = model.log_probs(chunk, **kwargs).float()
        total += -(logp * mask).sum().item()
        count += int(mask.sum().item())
    return total, count


def sequence_nll(model, tokens: torch.Tensor, pad_id: int | None = None, batch_size: int = 1024,
                 temperature: float = 1.0) -> float:
    """Mean per-token NLL (nats) of `tokens` `[n, seq_len]` under `model` (anything with `log_probs`).

    Padding (`pad_id`) is excluded; `<eos>` counts as a token. Averaged over all tokens of all sequences.
    `temperature` T != 1 scores under the tempered model, `-log softmax(logits / T)[y_t]` (the model's
    `log_probs(tokens, temperature=T)`): NLL-test of the distribution that sampling at T draws from
    (Caccia et al. 2020, section 3).
    """
    total, count = nll_sums(model, tokens, pad_id, batch_size, temperature)
    if count == 0:
        raise ValueError("sequence_nll got no tokens (every position is padding)")
    return total / count


def nll_oracle(oracle, samples: torch.Tensor, batch_size: int = 1024) -> float:
    """NLL-oracle: the oracle's mean per-token NLL of generator `samples` `[n, seq_len]` (fixed length, no pad)."""
    return sequence_nll(oracle, samples, None, batch_size)


def perplexity(nll: float) -> float:
    """exp(mean per-token NLL in nats); `inf` when that overflows a float (an untrained or diverged model must
    not stop the run at its evaluation)."""
    try:
        return math.exp(nll)
    except OverflowError:
        return math.inf
