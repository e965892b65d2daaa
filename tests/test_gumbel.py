"""Gumbel-softmax relaxation (textgan.sampling.gumbel_softmax), the Gumbel GAN's networks and schedule, and
`experiment=smoke_<method>` runs of the Gumbel GAN (CFG and oracle data) and of the MLE baseline on the CFG data."""

from __future__ import annotations

import csv
import math

import pytest
import torch

from textgan.losses import gan_discriminator_loss, nonsaturating_generator_loss
from textgan.methods.gumbel_gan import tau_schedule
from textgan.models.gumbel_lstm import GumbelLSTMGenerator, OneHotLSTMDiscriminator
from textgan.sampling import gumbel_softmax

from conftest import compose_config

LOGITS = torch.tensor([1.0, 0.0, -1.0, 2.0])


def test_samples_approach_one_hot_as_tau_goes_to_zero():
    torch.manual_seed(0)
    logits = LOGITS.expand(2000, -1)
    max_mass = {
        tau: gumbel_softmax(logits, tau).max(-1).values.mean().item() for tau in (10.0, 1.0, 0.1, 0.001)
    }
    assert max_mass[10.0] < max_mass[1.0] < max_mass[0.1] < max_mass[0.001]
    assert max_mass[0.001] > 0.995
    assert max_mass[10.0] < 0.5


def test_sample_mean_approaches_the_softmax():
    """E[gumbel_softmax] -> softmax(logits) as tau -> 0 (the Gumbel-max trick); at tau = 1 it is flatter."""
    torch.manual_seed(0)
    logits = LOGITS.expand(40000, -1)
    target = torch.softmax(LOGITS, -1)
    torch.testing.assert_close(gumbel_softmax(logits, 0.01).mean(0), target, atol=0.01, rtol=0)
    assert (gumbel_softmax(logits, 5.0).mean(0) - target).abs().max() > 0.05


def test_straight_through_is_hard_forward_soft_backward():
    weights = torch.tensor([0.5, -1.0, 2.0, 3.0])
    logits_hard = LOGITS.clone().repeat(3, 1).requires_grad_(True)
    logits_soft = LOGITS.clone().repeat(3, 1).requires_grad_(True)
    torch.manual_seed(7)
    hard = gumbel_softmax(logits_hard, 0.5, hard=True)
    torch.manual_seed(7)
    soft = gumbel_softmax(logits_soft, 0.5)
    assert set(hard.detach().unique().tolist()) == {0.0, 1.0}
    assert torch.equal(hard.detach().sum(-1), torch.ones(3))
    assert torch.equal(hard.detach().argmax(-1), soft.detach().argmax(-1))
    (hard * weights).sum().backward()
    (soft * weights).sum().backward()
    assert logits_hard.grad.abs().sum() > 0
    torch.testing.assert_close(logits_hard.grad, logits_soft.grad)


def test_tau_schedule_anneals_in_steps_to_the_floor():
    assert tau_schedule(0, 5.0, 0.5, 0.01, 10) == 5.0
    assert tau_schedule(9, 5.0, 0.5, 0.01, 10) == 5.0
    assert tau_schedule(10, 5.0, 0.5, 0.01, 10) == pytest.approx(5.0 * math.exp(-0.1))
    assert tau_schedule(10_000, 5.0, 0.5, 0.01, 10) == 0.5


def test_generator_feeds_back_relaxed_samples_differentiably():
    torch.manual_seed(0)
    g = GumbelLSTMGenerator(vocab_size=6, noise_dim=3, embed_dim=4, hidden_dim=5, pad_id=0, eos_id=2)
    y = g(4, 5, tau=0.7)
    assert y.shape == (4, 5, 6)
    torch.testing.assert_close(y.sum(-1), torch.ones(4, 5))
    # the embedding is only used to feed samples back: a loss on the last step must reach it
    y[:, -1].pow(2).sum().backward()
    assert g.embedding.weight.grad.abs().sum() > 0
    assert g.initial_state.weight.grad.abs().sum() > 0  # and the noise -> initial state map
    hard = g(4, 5, tau=0.7, hard=True)
    assert set(hard.detach().unique().tolist()) <= {0.0, 1.0}
    samples = g.sample(50, 5)
    assert samples.shape == (50, 5) and samples.dtype == torch.long
    after_eos = (samples == 2).long().cumsum(1) - (samples == 2).long() > 0
    assert (samples[after_eos] == 0).all()


def test_discriminator_reads_ids_and_one_hots_alike():
    d = OneHotLSTMDiscriminator(vocab_size=6, embed_dim=4, hidden_dim=5)
    ids = torch.randint(0, 6, (3, 7))
    torch.testing.assert_close(d(ids), d(torch.nn.functional.one_hot(ids, 6).float()))
    with pytest.raises(ValueError, match="6"):
        d(torch.zeros(2, 3, 5))


def test_gan_losses_match_hand_values():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0])
    expected_d = 0.5 * (math.log(2) + math.log(1 + math.exp(-2))) + math.log(1 + math.exp(-1))
    assert gan_discriminator_loss(real, fake).item() == pytest.approx(expected_d)
    assert nonsaturating_generator_loss(fake).item() == pytest.approx(math.log(1 + math.e))


def _evals(tmp_path, key):
    rows = list(csv.DictReader(open(tmp_path / "csv" / "metrics.csv")))
    return [r for r in rows if r.get(key)]


def test_smoke_gumbel_gan_on_cfg(tmp_path):
    from textgan.runs.train import train

    cfg = compose_config(["experiment=smoke_gumbel_gan", "data=cfg"], tmp_path)
    assert cfg.method.generator._target_.endswith("GumbelLSTMGenerator")  # named by the method
    assert cfg.optimized_metric == "val/cfg_valid"
    train(cfg)
    evals = _evals(tmp_path, "val/cfg_valid")
    assert len(evals) == cfg.method.epochs
    for key in ("val/cfg_valid", "val/unique", "val/novel"):
        assert 0.0 <= float(evals[-1][key]) <= 1.0
    taus = [float(r["train/tau"]) for r in _evals(tmp_path, "train/tau")]
    assert taus[0] == cfg.method.tau_start and taus[-1] < taus[0]


def test_smoke_gumbel_gan_on_oracle_and_mle_on_cfg(tmp_path):
    from textgan.runs.train import train

    train(
        compose_config(
            ["experiment=smoke_gumbel_gan", "data=oracle_toy", "optimized_metric=val/nll_oracle"],
            tmp_path / "gumbel_oracle",
        )
    )
    assert _evals(tmp_path / "gumbel_oracle", "val/nll_oracle")
    train(compose_config(["experiment=smoke_mle", "data=cfg"], tmp_path / "mle_cfg"))
    assert _evals(tmp_path / "mle_cfg", "val/nll_test")
