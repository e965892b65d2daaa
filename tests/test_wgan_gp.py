"""WGAN-GP: the gradient penalty against hand computations, where it is evaluated, its precision under bf16
autocast, the conv-ResNet networks, and an end-to-end
`experiment=smoke_wgan_gp` run with the 10:1 (here 2:1) rhythm."""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn as nn

from textgan.losses import gradient_penalty, wasserstein_critic_loss, wasserstein_generator_loss
from textgan.models.conv_resnet import ConvResNetCritic, ConvResNetGenerator

from conftest import compose_config


class QuadraticCritic(nn.Module):
    """D(x) = c/2 * ||x||^2, so grad D(x) = c * x and ||grad|| = c * ||x||; records its inputs."""

    def __init__(self, c: float):
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))
        self.inputs: list[torch.Tensor] = []

    def forward(self, x):
        self.inputs.append(x.detach().clone())
        return 0.5 * self.c * x.flatten(1).pow(2).sum(1)


def test_gradient_penalty_equals_hand_computation_on_interpolates():
    torch.manual_seed(0)
    real, fake = torch.rand(3, 2, 4), torch.rand(3, 2, 4)
    alpha = torch.tensor([0.0, 0.25, 0.9])
    critic = QuadraticCritic(1.5)
    got = gradient_penalty(critic, real, fake, alpha)

    interp = alpha.view(3, 1, 1) * real + (1 - alpha.view(3, 1, 1)) * fake
    expected = ((1.5 * interp.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)

    # the critic saw exactly the interpolates, not the real or the fake points
    assert len(critic.inputs) == 1
    torch.testing.assert_close(critic.inputs[0], interp)
    at_real = ((1.5 * real.flatten(1).norm(dim=1) - 1) ** 2).mean()
    at_fake = ((1.5 * fake.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert abs(got.item() - at_real.item()) > 1e-3 and abs(got.item() - at_fake.item()) > 1e-3


def test_gradient_penalty_gradient_through_the_norm_double_backward():
    """Linear critic D(x) = w.x + b: grad_x D = w everywhere, penalty (|w| - 1)^2,
    d/dw = 2(|w| - 1) w / |w|."""
    critic = nn.Linear(4, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.3, -1.2, 0.5, 2.0]]))
    penalty = gradient_penalty(lambda x: critic(x).squeeze(-1), torch.randn(5, 4), torch.randn(5, 4))
    w = critic.weight.detach()
    norm = w.norm()
    assert penalty.item() == pytest.approx(((norm - 1) ** 2).item(), rel=1e-6)
    penalty.backward()
    torch.testing.assert_close(critic.weight.grad, 2 * (norm - 1) * w / norm)
    assert critic.bias.grad is None or critic.bias.grad.abs().max() == 0


def test_gradient_penalty_is_float32_under_bf16_autocast():
    torch.manual_seed(1)
    critic = ConvResNetCritic(vocab_size=6, seq_len=5, dim=8, num_blocks=1)
    real = nn.functional.one_hot(torch.randint(0, 6, (4, 5)), 6).float()
    fake = torch.softmax(torch.randn(4, 5, 6), -1)
    alpha = torch.rand(4)
    ref = gradient_penalty(critic, real, fake, alpha)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = gradient_penalty(critic, real, fake, alpha)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(ref.item(), rel=1e-6)


def test_wasserstein_losses():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.5, -0.5])
    assert wasserstein_critic_loss(real, fake).item() == pytest.approx(0.0 - 2.0)
    assert wasserstein_generator_loss(fake).item() == pytest.approx(0.0)


def test_conv_resnet_shapes_and_argmax_sampling():
    torch.manual_seed(0)
    g = ConvResNetGenerator(vocab_size=7, seq_len=6, noise_dim=4, dim=8, num_blocks=2)
    z = torch.randn(3, 4)
    probs = g(z)
    assert probs.shape == (3, 6, 7)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3, 6))
    torch.manual_seed(5)
    samples = g.sample(3, 6)
    torch.manual_seed(5)
    assert torch.equal(samples, g(g.noise(3)).argmax(-1))
    assert not hasattr(g, "log_probs")  # not autoregressive: the base class skips NLL-test
    with pytest.raises(ValueError, match="length"):
        g.sample(2, 9)
    critic = ConvResNetCritic(vocab_size=7, seq_len=6, dim=8, num_blocks=2)
    ids = samples
    torch.testing.assert_close(critic(ids), critic(nn.functional.one_hot(ids, 7).float()))
    with pytest.raises(ValueError, match="seq_len"):
        critic(torch.zeros(2, 5, 7))


def test_smoke_run_picks_its_model_logs_js_and_keeps_the_critic_rhythm(tmp_path):
    from textgan.runs.train import train

    cfg = compose_config(["experiment=smoke_wgan_gp"], tmp_path)
    assert cfg.optimized_metric == "val/js4"
    cfg_full = compose_config(["method=wgan_gp"], tmp_path)  # the method names conv_resnet itself
    assert cfg_full.method.generator._target_.endswith("ConvResNetGenerator")
    assert cfg_full.method.generator.dim == 512

    train(cfg)
    rows = list(csv.DictReader(open(tmp_path / "csv" / "metrics.csv")))
    evals = [r for r in rows if r.get("val/js4")]
    assert len(evals) == cfg.method.epochs
    for n in (1, 2, 3, 4):
        assert 0.0 <= float(evals[-1][f"val/js{n}"]) <= 1.0
        assert 0.0 <= float(evals[-1][f"val/js{n}_real_floor"]) <= 1.0
    batches = -(-cfg.data.num_train // cfg.data.batch_size) * cfg.method.epochs
    assert float(evals[-1]["val/generator_iteration"]) == batches // cfg.method.critic_steps
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
