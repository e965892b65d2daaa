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
    # flattened [batch*seq_len, vocab]: on a CPU cross_entropy is much slower on the [batch, vocab, seq_len] layout
    nll = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tokens.reshape(-1), reduction="none")
    return masked_mean(nll.view_as(tokens), mask)


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
    logits = torch.cat([logits_real, logits_fake])
    labels = torch.cat([
        torch.ones(len(logits_real), dtype=torch.long, device=logits.device),
        torch.zeros(len(logits_fake), dtype=torch.long, device=logits.device),
    ])
    return labelled_discriminator_loss(logits, labels)


def labelled_discriminator_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of a 2-way discriminator on a mixed batch: `logits` `[batch, 2]`, `labels` `[batch]` long
    (1 = real, 0 = generated), mean over the batch (SeqGAN's `discriminator.py`: softmax cross-entropy)."""
    return F.cross_entropy(logits.float(), labels)


# ---------------------------------------------------------------- Wasserstein GAN with gradient penalty
def wasserstein_critic_loss(scores_real: torch.Tensor, scores_fake: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss `E[D(fake)] - E[D(real)]` (Gulrajani et al. 2017, Algorithm 1)."""
    return scores_fake.float().mean() - scores_real.float().mean()


def wasserstein_generator_loss(scores_fake: torch.Tensor) -> torch.Tensor:
    """WGAN generator loss `-E[D(G(z))]`."""
    return -scores_fake.float().mean()


def gradient_penalty(
    critic,
    real: torch.Tensor,
    fake: torch.Tensor,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017, eq. 3), without the weight lambda:

        E_{x^ ~ P_x^} [(||grad_x^ D(x^)||_2 - 1)^2],   x^ = alpha real + (1 - alpha) fake, alpha ~ U[0, 1]

    `real`, `fake`: `[batch, ...]` critic inputs (for text: one-hot real sequences and generator softmaxes,
    `[batch, seq_len, vocab]`); `alpha` `[batch]` (one per example, drawn uniformly when None). The penalty is
    computed in float32 with autocast off, so the double backward is exact under bf16-mixed training; the
    graph is kept (`create_graph=True`) so the caller's backward differentiates through the gradient norm.
    """
    device_type = real.device.type
    with torch.autocast(device_type=device_type, enabled=False):
        real, fake = real.detach().float(), fake.detach().float()
        if alpha is None:
            alpha = torch.rand(real.shape[0], device=real.device)
        alpha = alpha.float().reshape(-1, *([1] * (real.dim() - 1)))
        interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        scores = critic(interpolates).float()
        (grads,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        norms = grads.flatten(1).norm(2, dim=1)
        return ((norms - 1) ** 2).mean()


# ---------------------------------------------------------------- standard GAN (one logit per sequence)
def gan_discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of a one-logit discriminator (Goodfellow et al. 2014, eq. 1):
    `-E[log D(real)] - E[log(1 - D(fake))]`, with `D = sigmoid(logit)`; `logits_*` are `[batch]`."""
    return F.softplus(-logits_real.float()).mean() + F.softplus(logits_fake.float()).mean()


def nonsaturating_generator_loss(logits_fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss `-E[log D(G(z))]` (Goodfellow et al. 2014, section 3)."""
    return F.softplus(-logits_fake.float()).mean()


# ---------------------------------------------------------------- the GAN losses of RelGAN (Nie et al. 2019, sec. 2.4)
# each takes D's logits of real and generated inputs, the same shape (RelGAN: `[batch, num_rep]`), and is a mean
# over all of them
def rsgan_discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """The relativistic standard GAN's D loss (Jolicoeur-Martineau 2019; RelGAN eq. 4): `BCE(D(x) - D(G(z)), 1)`
    = `E[log(1 + exp(-(D(x) - D(G(z)))))]`, pairing each real logit with the generated one at its position."""
    return F.softplus(-(logits_real.float() - logits_fake.float())).mean()


def rsgan_generator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """The relativistic standard GAN's G loss: `BCE(D(G(z)) - D(x), 1)`."""
    return F.softplus(-(logits_fake.float() - logits_real.float())).mean()


def hinge_discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """The hinge loss of D: `E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]`."""
    return F.relu(1 - logits_real.float()).mean() + F.relu(1 + logits_fake.float()).mean()


def hinge_generator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """The hinge loss of G: `-E[D(G(z))]` (`logits_real` unused: the signature of the relativistic losses)."""
    return -logits_fake.float().mean()
