"""RelGAN: the relational memory step against a hand-written one, the Gumbel sample and its relaxation, the
temperature schedules, the relativistic losses against hand-computed values, one adversarial step of the method,
and `experiment=smoke_relgan` end to end with its checkpoint loaded for generation."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F

from textgan.data.vocab import Vocabulary
from textgan.errors import ConfigError
from textgan.losses import (
    hinge_discriminator_loss,
    hinge_generator_loss,
    rsgan_discriminator_loss,
    rsgan_generator_loss,
)
from textgan.methods.relgan import RelGAN, inverse_temperature
from textgan.models.relgan_discriminator import RelGANDiscriminator
from textgan.models.rmc import RelationalMemory, RMCGenerator
from textgan.sampling import gumbel_max_relaxed

from conftest import compose_config, read_metrics


def _norm(x: torch.Tensor, gain: torch.Tensor, bias: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Layer norm of one example `[slots, features]` over all its entries, per-feature gain and bias."""
    mean, var = x.mean(), x.var(unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * gain + bias


def _hand_step(m: RelationalMemory, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
    """One relational memory step written out per example and per head, with `m`'s weights."""
    out = []
    hs, heads, slots = m.head_size, m.num_heads, m.mem_slots
    for b in range(len(x)):
        inp = m.input_projection.weight @ x[b] + m.input_projection.bias  # [mem_size]
        z = torch.cat([memory[b], inp[None]], dim=0)  # [slots + 1, mem_size]
        qkv = _norm(z @ m.qkv.weight.T, m.qkv_norm.weight, m.qkv_norm.bias)
        attended = []
        for h in range(heads):
            chunk = qkv[:, h * 3 * hs:(h + 1) * 3 * hs]
            q, k, v = chunk[:, :hs], chunk[:, hs:2 * hs], chunk[:, 2 * hs:]
            scores = torch.stack([torch.stack([(q[i] * k[j]).sum() / math.sqrt(3 * hs) for j in range(len(z))])
                                  for i in range(len(z))])
            attended.append(torch.softmax(scores, dim=-1) @ v)
        z = _norm(z + torch.cat(attended, dim=-1), m.attention_norm.weight, m.attention_norm.bias)
        first, second = m.mlp[0], m.mlp[2]
        mlp = torch.relu(z @ first.weight.T + first.bias) @ second.weight.T + second.bias
        z = _norm(z + mlp, m.mlp_norm.weight, m.mlp_norm.bias)
        gates = inp @ m.gate_input.weight.T + torch.tanh(memory[b]) @ m.gate_memory.weight.T  # [slots, 2 mem]
        i_gate = torch.sigmoid(gates[:, :m.mem_size] + m.input_bias)
        f_gate = torch.sigmoid(gates[:, m.mem_size:] + m.forget_bias)
        out.append(i_gate * torch.tanh(z[:slots]) + f_gate * memory[b])
    return torch.stack(out)


def test_the_memory_step_is_the_hand_written_step():
    torch.manual_seed(0)
    m = RelationalMemory(input_size=3, mem_slots=2, head_size=2, num_heads=2)
    with torch.no_grad():  # non-trivial norms, so that their gains and biases are checked too
        for norm in (m.qkv_norm, m.attention_norm, m.mlp_norm):
            norm.weight.normal_(1.0, 0.3)
            norm.bias.normal_(0.0, 0.3)
    x, memory = torch.randn(3, 3), torch.randn(3, 2, 4)
    output, next_memory = m(x, memory)
    expected = _hand_step(m, x, memory)
    torch.testing.assert_close(next_memory, expected)
    torch.testing.assert_close(output, expected.flatten(1))


def test_the_first_memory_is_the_padded_or_truncated_identity():
    m = RelationalMemory(input_size=3, mem_slots=2, head_size=2, num_heads=2)
    torch.testing.assert_close(m.initial_memory(1)[0], torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
    wide = RelationalMemory(input_size=3, mem_slots=3, head_size=1, num_heads=2)
    torch.testing.assert_close(wide.initial_memory(2)[1], torch.tensor([[1.0, 0], [0, 1.0], [0, 0]]))


def test_the_relaxed_sample_argmax_is_the_hard_sample_and_approaches_its_one_hot():
    torch.manual_seed(0)
    logits = torch.randn(500, 7)
    for beta in (1.0, 5.0, 1000.0):
        torch.manual_seed(1)
        tokens, relaxed = gumbel_max_relaxed(logits, beta)
        assert torch.equal(relaxed.argmax(-1), tokens)
        torch.testing.assert_close(relaxed.sum(-1), torch.ones(500))
    torch.manual_seed(1)
    tokens, sharp = gumbel_max_relaxed(logits, 1e6)
    torch.testing.assert_close(sharp, F.one_hot(tokens, 7).float(), atol=1e-4, rtol=0)
    mass = {}
    for beta in (1.0, 10.0, 100.0):
        torch.manual_seed(1)
        mass[beta] = gumbel_max_relaxed(logits, beta)[1].max(-1).values.mean().item()
    assert mass[1.0] < mass[10.0] < mass[100.0]


def test_the_hard_sample_is_an_exact_sample_of_the_softmax():
    torch.manual_seed(0)
    logits = torch.tensor([1.0, 0.0, -1.0, 2.0])
    tokens, _ = gumbel_max_relaxed(logits.expand(40000, -1), 3.0)
    freq = torch.bincount(tokens, minlength=4).float() / 40000
    torch.testing.assert_close(freq, torch.softmax(logits, -1), atol=0.01, rtol=0)


def test_the_generator_relaxed_sample_follows_its_tokens_and_carries_gradient():
    torch.manual_seed(0)
    g = RMCGenerator(vocab_size=6, embed_dim=4, mem_slots=1, head_size=3, num_heads=2, pad_id=0, eos_id=2)
    tokens, relaxed = g.relaxed_sample(4, 5, beta=2.0)
    assert tokens.shape == (4, 5) and relaxed.shape == (4, 5, 6)
    assert torch.equal(relaxed.argmax(-1), tokens)
    relaxed[:, -1].pow(2).sum().backward()
    assert g.output.weight.grad.abs().sum() > 0 and g.memory.qkv.weight.grad.abs().sum() > 0
    # the teacher-forced logits are the step-by-step ones, and log_probs scores them
    with torch.no_grad():
        x = torch.randint(0, 6, (3, 5))
        logits, state = g.step(None, g.init_state(3))
        steps = [logits]
        for t in range(4):
            logits, state = g.step(x[:, t], state)
            steps.append(logits)
        torch.testing.assert_close(g(x), torch.stack(steps, 1))
        torch.testing.assert_close(g.log_probs(x), F.log_softmax(g(x), -1).gather(-1, x[..., None])[..., 0])
    samples = g.sample(50, 5)
    after_eos = (samples == 2).long().cumsum(1) - (samples == 2).long() > 0
    assert samples.shape == (50, 5) and (samples[after_eos] == 0).all()


def test_the_discriminator_gives_one_logit_per_representation_and_reads_ids_as_one_hots():
    torch.manual_seed(0)
    d = RelGANDiscriminator(vocab_size=9, embed_dim=8, num_rep=4, filter_sizes=[2, 3], num_filters=[5, 5],
                            hidden_dim=6).eval()
    ids = torch.randint(0, 9, (3, 7))
    out = d(ids)
    assert out.shape == (3, 4)
    torch.testing.assert_close(out, d(F.one_hot(ids, 9).float()))
    # representation r reads only dimensions 2r, 2r+1 of the embedding: changing another one leaves it alone
    with torch.no_grad():
        d.embedding[:, 0:2] += 1.0
    changed = d(ids)
    assert not torch.allclose(changed[:, 0], out[:, 0])
    torch.testing.assert_close(changed[:, 1:], out[:, 1:])
    with pytest.raises(ValueError, match="multiple of"):
        RelGANDiscriminator(vocab_size=9, embed_dim=10, num_rep=4)


@pytest.mark.parametrize("schedule, expected", [
    ("exp", [1.0, 100 ** 0.5, 100.0]),
    ("linear", [1.0, 1 + 99 * 5 / 9, 1 + 99 * 10 / 9]),
    ("constant", [100.0, 100.0, 100.0]),
    ("log", [1.0, 1 + 99 * math.log(6) / math.log(10), 1 + 99 * math.log(11) / math.log(10)]),
    ("sigmoid", [1 + 99 / (1 + math.exp(10)), 1 + 99 / 2, 1 + 99 / (1 + math.exp(-10))]),
    ("quad", [1.0, 1 + 99 * 25 / 81, 1 + 99 * 100 / 81]),
    ("sqrt", [1.0, 1 + 99 * math.sqrt(5 / 9), 1 + 99 * math.sqrt(10 / 9)]),
])
def test_temperature_schedules_are_the_authors(schedule, expected):
    assert [inverse_temperature(n, 100.0, 10, schedule) for n in (0, 5, 10)] == pytest.approx(expected)


def test_the_authors_fixed_n_ends_the_oracle_runs_at_beta_max_to_the_0_6():
    assert inverse_temperature(3000, 1000.0, 5000, "exp") == pytest.approx(1000 ** 0.6)


def test_relativistic_and_hinge_losses_match_hand_values():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
    # BCE(r - f, 1) = log(1 + exp(-(r - f))): differences 1 and -1
    d = (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(1))) / 2
    assert rsgan_discriminator_loss(real, fake).item() == pytest.approx(d)
    assert rsgan_generator_loss(real, fake).item() == pytest.approx(d)  # differences -1 and 1: the same pair
    assert rsgan_generator_loss(torch.tensor([0.0]), torch.tensor([3.0])).item() == \
        pytest.approx(math.log(1 + math.exp(-3)))
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx((0 + 1) / 2 + (2 + 2) / 2)
    assert hinge_generator_loss(real, fake).item() == pytest.approx(-1.0)


def _toy_relgan(**kwargs) -> RelGAN:
    vocab = Vocabulary([str(i) for i in range(10)], specials=())
    return RelGAN(vocab, partial(RMCGenerator, embed_dim=4, mem_slots=1, head_size=3, num_heads=2),
                  partial(RelGANDiscriminator, embed_dim=4, num_rep=2, filter_sizes=[2, 3], num_filters=[4, 4],
                          hidden_dim=5), seq_len=6, **kwargs)


def test_one_adversarial_step_updates_both_networks_and_g_learns_through_the_relaxed_sample():
    torch.manual_seed(0)
    m = _toy_relgan(pretrain_epochs=0, adversarial_steps=3, steps_per_epoch=3, d_steps=2)
    train = torch.randint(0, 10, (32, 6))
    g_opt = torch.optim.Adam(m.generator.parameters(), lr=1e-2)
    d_opt = torch.optim.Adam(m.discriminator.parameters(), lr=1e-2)
    m.optimizers = lambda: (None, g_opt, d_opt)
    m.random_batch = lambda n: train[torch.randperm(32)[:n]]
    updates = []

    def plain_step(opt, loss, clip=None):  # no Trainer here: plain backward + step
        opt.zero_grad()
        loss.backward()
        if opt is g_opt:  # G's loss reaches G only through the relaxed one-hots D reads
            updates.append(("g", sum(p.grad.abs().sum().item() for p in m.generator.parameters()
                                     if p.grad is not None)))
        else:
            updates.append(("d", 0.0))
        opt.step()

    m.optimizer_step_with_clip = plain_step
    m.toggled_optimizer = lambda opt: torch.enable_grad()
    g_before = [p.detach().clone() for p in m.generator.parameters()]
    d_before = [p.detach().clone() for p in m.discriminator.parameters()]
    m.training_step(train[:8], batch_idx=0)
    assert [kind for kind, _ in updates] == ["g", "d", "d"]
    assert updates[0][1] > 0
    assert any(not torch.equal(a, b) for a, b in zip(g_before, m.generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d_before, m.discriminator.parameters()))
    assert m.phase == "adversarial" and m.beta_at(0) == 1.0


def test_a_temperature_horizon_below_the_run_is_one_line():
    with pytest.raises(ConfigError, match="temperature_steps=100 is below method.adversarial_steps=3000"):
        _toy_relgan(temperature_steps=100)
    m = _toy_relgan(temperature_steps=None, adversarial_steps=10, beta_max=1000.0)
    assert m.beta_at(5) == pytest.approx(1000 ** 0.5)
    assert m.phase_epochs() == (150, 1)


def test_smoke_relgan_runs_both_phases_and_its_checkpoint_generates(tmp_path):
    from textgan.runs.checkpoint import load_method
    from textgan.runs.train import train

    cfg = compose_config(["experiment=smoke_relgan"], tmp_path)
    assert cfg.method.generator._target_.endswith("RMCGenerator")
    value = train(cfg)
    assert value is not None and value > 0
    m = read_metrics(tmp_path)
    assert set(m["progress/phase"]) == {0, 1}
    assert m["progress/adversarial_step"] == [1, 2, 3, 4]  # one row per adversarial step, none per passed-over batch
    assert m["train/beta"] == pytest.approx([100 ** (n / 4) for n in range(4)])
    assert len(m["train/g_loss"]) == 4 and len(m["train/d_loss"]) == 4
    assert len(m["val/nll_oracle"]) == 3 and m["test/nll_test"]  # every epoch, adversarial ones too
    method = load_method(tmp_path / "checkpoints" / "last.ckpt")
    assert isinstance(method, RelGAN) and isinstance(method.generator, RMCGenerator)
    samples = method.generate(5)
    assert samples.shape == (5, cfg.data.seq_len) and samples.dtype == torch.long
