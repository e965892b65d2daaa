"""Generator, discriminator and oracle: shapes, masks, decoding, determinism."""

import pytest
import torch

from textgan.models.cnn import SEQGAN_FILTER_SIZES, SEQGAN_NUM_FILTERS, CNNDiscriminator
from textgan.models.lstm import LSTMGenerator
from textgan.models.oracle import build_oracle


def test_generator_shapes_and_teacher_forcing_matches_steps():
    torch.manual_seed(0)
    g = LSTMGenerator(11, 6, 5)
    x = g.sample(4, 7)
    assert x.shape == (4, 7) and x.dtype == torch.long
    logits = g(x)
    assert logits.shape == (4, 7, 11)
    # step-by-step logits equal the teacher-forced ones
    state = g.init_state(4)
    lg, state = g.step(None, state)
    assert torch.allclose(lg, logits[:, 0], atol=1e-5)
    for t in range(6):
        lg, state = g.step(x[:, t], state)
        assert torch.allclose(lg, logits[:, t + 1], atol=1e-5)
    states, nxt = g.prefix_states(x)
    assert len(states) == 7 and torch.allclose(nxt[:, :-1], logits[:, 1:], atol=1e-5)
    lp = g.log_probs(x)
    assert lp.shape == (4, 7) and (lp <= 0).all()


def test_sampling_pads_after_eos_and_greedy_is_deterministic():
    torch.manual_seed(1)
    g = LSTMGenerator(5, 4, 4, pad_id=0, eos_id=1)
    with torch.no_grad():
        g.output.bias.copy_(torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0]))
    x = g.sample(64, 8)
    for row in x:
        hits = (row == 1).nonzero()
        if len(hits):
            assert (row[hits[0, 0] + 1 :] == 0).all()
    assert (x == 1).any()
    assert torch.equal(g.sample(3, 5, decode="greedy"), g.sample(3, 5, decode="greedy"))


def test_temperature_sharpens():
    torch.manual_seed(2)
    g = LSTMGenerator(20, 8, 8)
    with torch.no_grad():
        g.output.bias.copy_(torch.linspace(0, 3, 20))
    hot = g.sample(500, 3, temperature=5.0)
    cold = g.sample(500, 3, temperature=0.2)
    assert (cold == 19).float().mean() > (hot == 19).float().mean() + 0.3


def test_cnn_discriminator_paper_sizes_and_short_inputs():
    d = CNNDiscriminator(50)
    assert d.filter_sizes == SEQGAN_FILTER_SIZES and sum(c.out_channels for c in d.convs) == sum(SEQGAN_NUM_FILTERS)
    x = torch.randint(0, 50, (3, 20))
    assert d(x).shape == (3, 2)
    p = d.prob_real(torch.randint(0, 50, (3, 6)))  # shorter than the widest window (20): padded
    assert p.shape == (3,) and ((p > 0) & (p < 1)).all()
    assert d.l2_penalty().item() > 0


def test_oracle_is_deterministic_and_frozen():
    a, b = build_oracle(30, 8, 8, seed=5), build_oracle(30, 8, 8, seed=5)
    c = build_oracle(30, 8, 8, seed=6)
    for (n, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb), n
        assert not torch.equal(pa, pc), n
        assert not pa.requires_grad
    # parameters ~ N(0, 1)
    w = torch.cat([p.flatten() for p in build_oracle(200, 32, 32, seed=0).parameters()])
    assert abs(w.mean().item()) < 0.02 and abs(w.std().item() - 1) < 0.02


def _reference_prob_real(d: CNNDiscriminator, tokens: torch.Tensor) -> torch.Tensor:
    """The textbook formulation (Kim 2014): conv1d -> ReLU -> max over time, then highway and output."""
    x = d.embedding(tokens).transpose(1, 2)
    x = torch.nn.functional.pad(x, (0, max(0, max(d.filter_sizes) - x.shape[2])))
    pooled = torch.cat([torch.relu(conv(x)).amax(dim=2) for conv in d.convs], dim=1)
    gate, candidate = d.highway(pooled).chunk(2, dim=1)
    gate = torch.sigmoid(gate)
    features = gate * torch.relu(candidate) + (1 - gate) * pooled
    return torch.softmax(d.output(features), dim=-1)[:, 1]


def test_cnn_window_products_equal_conv1d_values_and_gradients():
    """The discriminator computes each convolution as one matrix product over its windows, with bias and ReLU after
    the max: the same function, and the same gradients, as conv1d -> ReLU -> max."""
    torch.manual_seed(3)
    d = CNNDiscriminator(40, embed_dim=6, filter_sizes=(1, 2, 4, 9), num_filters=(3, 5, 4, 2), dropout=0.0)
    for length in (5, 12):  # shorter and longer than the widest window
        tokens = torch.randint(0, 40, (7, length))
        ours, ref = d.prob_real(tokens), _reference_prob_real(d, tokens)
        assert torch.allclose(ours, ref, atol=1e-6)
        grads = [torch.autograd.grad(p.sum(), [c.weight for c in d.convs] + [d.embedding.weight]) for p in (ours, ref)]
        for a, b in zip(*grads):
            assert torch.allclose(a, b, atol=1e-6)
        many = torch.randint(0, 40, (300, length))  # no gradients, many rows: one product per window
        with torch.no_grad():
            assert torch.allclose(d.prob_real(many), _reference_prob_real(d, many), atol=1e-6)


def test_cnn_shared_prefix_scores_equal_full_scores():
    """Rollout rows that share a prefix (rows i and i + group): computing the windows inside the prefix once per
    group, and only the suffix taps of straddling windows per row, gives the scores of scoring every row fully."""
    torch.manual_seed(4)
    d = CNNDiscriminator(30, embed_dim=5, filter_sizes=(1, 3, 4, 8), num_filters=(2, 3, 4, 3)).eval()
    group, rollouts = 3, 4
    for length in (6, 11):  # 6 < widest window: the padding is part of every row's suffix
        prefixes = torch.randint(0, 30, (group, length))
        for prefix_len in range(1, length):
            rows = prefixes.repeat(rollouts, 1)
            rows[:, prefix_len:] = torch.randint(0, 30, (group * rollouts, length - prefix_len))
            shared = d.prob_real(rows, prefix_len=prefix_len, group=group)
            assert torch.allclose(shared, d.prob_real(rows), atol=1e-6), (length, prefix_len)
    with pytest.raises(ValueError, match="groups of 3"):
        d.prob_real(torch.zeros(7, 6, dtype=torch.long), prefix_len=2, group=3)
