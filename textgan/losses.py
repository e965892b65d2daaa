"""Losses shared by the methods. Each reduces to a scalar float32 tensor."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of `values` over positions where `mask` is True (all positions when `mask` is None)."""
    if mask is None:
        return values.mean()
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


def mle_loss(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-token cross-entropy of teacher-forced `logits` `[batch, seq_len, vocab]` against `tokens`
    `[batch, seq_len]`, averaged over unmasked tokens."""
    nll = F.cross_entropy(logits.float().transpose(1, 2), tokens, reduction="none")
    return masked_mean(nll, mask)


def policy_gradient_loss(
    log_probs: torch.Tensor,
    rewards: torch.Tensor,
    mask: torch.Tensor | None = None,
    baseline: bool = False,
) -> torch.Tensor:
    """REINFORCE with per-token action values (SeqGAN, Yu et al. 2017, eq. 6):

        loss = -1/B sum_b sum_t log G(y_t | y_<t) * (Q_t - b_t)

    `log_probs` `[batch, seq_len]` carries the gradient; `rewards` `[batch, seq_len]` is treated as a constant
    (detached). With `baseline=True`, `b_t` is the batch mean reward at position t (variance reduction);
    otherwise 0. Padding positions (mask False) contribute nothing.
    """
    rewards = rewards.detach().float()
    if baseline:
        if mask is None:
            b_t = rewards.mean(dim=0, keepdim=True)
        else:
            m = mask.float()
            b_t = (rewards * m).sum(0, keepdim=True) / m.sum(0, keepdim=True).clamp_min(1.0)
        rewards = rewards - b_t
    terms = log_probs.float() * rewards
    if mask is not None:
        terms = terms * mask.float()
    return -terms.sum(dim=1).mean()


def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of a 2-way discriminator: real sequences labelled 1, generated ones 0 (mean over both)."""
    logits = torch.cat([logits_real, logits_fake]).float()
    labels = torch.cat([
        torch.ones(len(logits_real), dtype=torch.long, device=logits.device),
        torch.zeros(len(logits_fake), dtype=torch.long, device=logits.device),
    ])
    return F.cross_entropy(logits, labels)
