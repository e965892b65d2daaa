"""Losses: the policy gradient reaches G only through log-probabilities; masks; the discriminator loss."""

import math

import pytest
import torch

from textgan.losses import discriminator_loss, masked_mean, mle_loss, policy_gradient_loss
from textgan.models.lstm import LSTMGenerator


def test_policy_gradient_value_by_hand():
    logp = torch.tensor([[-1.0, -2.0], [-0.5, -0.1]])
    q = torch.tensor([[0.5, 1.0], [0.2, 0.4]])
    # -(1/B) sum_b sum_t logp*q = -((−0.5−2.0) + (−0.1−0.04))/2
    assert policy_gradient_loss(logp, q).item() == pytest.approx(-((-0.5 - 2.0) + (-0.1 - 0.04)) / 2)
    mask = torch.tensor([[True, False], [True, True]])
    assert policy_gradient_loss(logp, q, mask).item() == pytest.approx(-((-0.5) + (-0.1 - 0.04)) / 2)
    # baseline: subtract the per-position batch mean reward (0.35, 0.7)
    expected = -((-1.0 * 0.15 + -2.0 * 0.3) + (-0.5 * -0.15 + -0.1 * -0.3)) / 2
    assert policy_gradient_loss(logp, q, baseline=True).item() == pytest.approx(expected)


def test_gradient_reaches_generator_only_through_log_probs():
    torch.manual_seed(0)
    g = LSTMGenerator(6, 4, 4)
    seqs = g.sample(5, 4)
    rewards = torch.rand(5, 4, requires_grad=True)  # e.g. a discriminator output that must not be trained
    loss = policy_gradient_loss(g.log_probs(seqs), rewards)
    loss.backward()
    assert rewards.grad is None  # rewards are constants of the policy gradient
    assert g.output.weight.grad is not None and g.output.weight.grad.abs().sum() > 0
    # the gradient equals that of -mean_b sum_t log p * Q computed directly
    g.zero_grad()
    direct = -(g.log_probs(seqs) * rewards.detach()).sum(1).mean()
    direct.backward()
    grad_direct = g.output.weight.grad.clone()
    g.zero_grad()
    policy_gradient_loss(g.log_probs(seqs), rewards).backward()
    assert torch.allclose(g.output.weight.grad, grad_direct)


def test_mle_loss_ignores_padding():
    logits = torch.zeros(1, 3, 4)
    logits[0, 0, 1] = 5.0
    tokens = torch.tensor([[1, 2, 0]])
    mask = tokens != 0
    nll0 = -torch.log_softmax(logits[0, 0], -1)[1]
    nll1 = math.log(4)
    assert mle_loss(logits, tokens, mask).item() == pytest.approx((nll0.item() + nll1) / 2, rel=1e-6)
    assert masked_mean(torch.tensor([1.0, 3.0]), torch.tensor([True, False])).item() == 1.0


def test_discriminator_loss_labels():
    real = torch.tensor([[0.0, 10.0]])  # confident "real"
    fake = torch.tensor([[10.0, 0.0]])  # confident "fake"
    assert discriminator_loss(real, fake).item() < 1e-3
    assert discriminator_loss(fake, real).item() > 9.0
