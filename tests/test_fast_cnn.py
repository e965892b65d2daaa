"""`textgan.fast.cnn.PrefixSharingScorer`: the plain `CNNDiscriminator.prob_real` (conv1d -> ReLU -> max), computed
by window products and shared-prefix reuse over the same weights: same values, same gradients, same rewards."""

from functools import partial

import pytest
import torch

from textgan.data.vocab import Vocabulary
from textgan.fast.cnn import STRIDED_MIN_ROWS, PrefixSharingScorer
from textgan.methods.seqgan import SeqGAN
from textgan.models.cnn import CNNDiscriminator
from textgan.models.lstm import LSTMGenerator
from textgan.rollout import mc_rewards


def _reference_prob_real(d: CNNDiscriminator, tokens: torch.Tensor) -> torch.Tensor:
    """The textbook formulation (Kim 2014): conv1d -> ReLU -> max over time, then highway and output."""
    x = d.embedding(tokens).transpose(1, 2)
    x = torch.nn.functional.pad(x, (0, max(0, max(d.filter_sizes) - x.shape[2])))
    pooled = torch.cat([torch.relu(conv(x)).amax(dim=2) for conv in d.convs], dim=1)
    gate, candidate = d.highway(pooled).chunk(2, dim=1)
    gate = torch.sigmoid(gate)
    features = gate * torch.relu(candidate) + (1 - gate) * pooled
    return torch.softmax(d.output(features), dim=-1)[:, 1]


def test_plain_discriminator_is_the_textbook_formulation():
    """`CNNDiscriminator.prob_real` itself is conv1d -> ReLU -> max (the reference above, written out by hand)."""
    torch.manual_seed(2)
    d = CNNDiscriminator(40, embed_dim=6, filter_sizes=(1, 2, 4, 9), num_filters=(3, 5, 4, 2), dropout=0.0)
    for length in (5, 12):
        tokens = torch.randint(0, 40, (7, length))
        assert torch.allclose(d.prob_real(tokens), _reference_prob_real(d, tokens), atol=1e-6)


def test_cnn_window_products_equal_conv1d_values_and_gradients():
    """The scorer computes each convolution as one matrix product over its windows, with bias and ReLU after
    the max: the same function, and the same gradients, as conv1d -> ReLU -> max."""
    torch.manual_seed(3)
    d = CNNDiscriminator(40, embed_dim=6, filter_sizes=(1, 2, 4, 9), num_filters=(3, 5, 4, 2), dropout=0.0)
    score = PrefixSharingScorer(d)
    for length in (5, 12):  # shorter and longer than the widest window
        tokens = torch.randint(0, 40, (7, length))
        ours, ref = score(tokens), _reference_prob_real(d, tokens)
        assert torch.allclose(ours, ref, atol=1e-6)
        grads = [torch.autograd.grad(p.sum(), [c.weight for c in d.convs] + [d.embedding.weight]) for p in (ours, ref)]
        for a, b in zip(*grads):
            assert torch.allclose(a, b, atol=1e-6)
        many = torch.randint(0, 40, (300, length))  # no gradients, many rows: one product per window
        with torch.no_grad():
            assert torch.allclose(score(many), _reference_prob_real(d, many), atol=1e-6)


def test_cnn_shared_prefix_scores_equal_full_scores():
    """Rollout rows that share a prefix (rows i and i + group): computing the windows inside the prefix once per
    group, and only the suffix taps of straddling windows per row, gives the scores of scoring every row fully."""
    torch.manual_seed(4)
    d = CNNDiscriminator(30, embed_dim=5, filter_sizes=(1, 3, 4, 8), num_filters=(2, 3, 4, 3)).eval()
    score = PrefixSharingScorer(d)
    group, rollouts = 3, 4
    for length in (6, 11):  # 6 < widest window: the padding is part of every row's suffix
        prefixes = torch.randint(0, 30, (group, length))
        for prefix_len in range(1, length):
            rows = prefixes.repeat(rollouts, 1)
            rows[:, prefix_len:] = torch.randint(0, 30, (group * rollouts, length - prefix_len))
            shared = score(rows, prefix_len=prefix_len, group=group)
            assert torch.allclose(shared, d.prob_real(rows), atol=1e-6), (length, prefix_len)
    with pytest.raises(ValueError, match="groups of 3"):
        score(torch.zeros(7, 6, dtype=torch.long), prefix_len=2, group=3)


def test_shared_prefix_gradients_equal_the_plain_discriminator():
    """With gradients on (dropout included, same mask through the same module), the shared-prefix path gives
    every parameter of D the gradient of the plain forward, on the strided CPU path's row count too."""
    torch.manual_seed(5)
    d = CNNDiscriminator(30, embed_dim=5, filter_sizes=(1, 3, 8), num_filters=(2, 3, 3), dropout=0.0)
    score = PrefixSharingScorer(d)
    group, rollouts, length, prefix_len = 4, STRIDED_MIN_ROWS // 4, 10, 4  # 256 rows
    rows = torch.randint(0, 30, (group, length)).repeat(rollouts, 1)
    rows[:, prefix_len:] = torch.randint(0, 30, (group * rollouts, length - prefix_len))
    params = list(d.parameters())
    fast = torch.autograd.grad(score(rows, prefix_len=prefix_len, group=group).sum(), params)
    plain = torch.autograd.grad(d.prob_real(rows).sum(), params)
    for (name, _), a, b in zip(d.named_parameters(), fast, plain):
        assert torch.allclose(a, b, atol=1e-5), name


def test_discriminator_rewards_with_and_without_prefix_sharing_agree():
    """Same seed -> same completions; D's shared-prefix scoring changes only the cost, not the rewards."""
    torch.manual_seed(8)
    g, d = LSTMGenerator(40, 8, 8).eval(), CNNDiscriminator(40, embed_dim=8).eval()
    seqs = g.sample(5, 12)
    torch.manual_seed(9)
    shared = mc_rewards(g, PrefixSharingScorer(d), seqs, num_rollouts=3)
    torch.manual_seed(9)
    plain = mc_rewards(g, d.prob_real, seqs, num_rollouts=3)  # the plain D, not marked: no sharing
    assert torch.allclose(shared, plain, atol=1e-6)


def test_training_logits_equal_the_plain_forward_with_dropout_and_gradients():
    """D's update through the fast path: in training mode, with the same random state, the same dropout draws,
    the same logits and the same gradient for every parameter as `discriminator(tokens)`."""
    torch.manual_seed(6)
    d = CNNDiscriminator(30, embed_dim=5, filter_sizes=(1, 3, 8), num_filters=(2, 3, 3), dropout=0.5).train()
    tokens = torch.randint(0, 30, (6, 10))
    params = list(d.parameters())
    torch.manual_seed(7)
    fast = PrefixSharingScorer(d).logits(tokens)
    torch.manual_seed(7)
    plain = d(tokens)
    assert torch.allclose(fast, plain, atol=1e-6)
    for (name, _), a, b in zip(d.named_parameters(), torch.autograd.grad(fast.sum(), params),
                               torch.autograd.grad(plain.sum(), params)):
        assert torch.allclose(a, b, atol=1e-5), name


def test_seqgan_uses_the_fast_path_over_its_own_discriminator_or_the_plain_one():
    """`fast_discriminator` (default on) picks the scorer over the very D that is trained, for rewards and D's
    logits; off: `D.prob_real` and `D` itself."""
    vocab = Vocabulary([str(i) for i in range(12)], specials=())
    gen = partial(LSTMGenerator, embed_dim=4, hidden_dim=4)
    disc = partial(CNNDiscriminator, embed_dim=4, filter_sizes=[1, 2], num_filters=[3, 3])
    fast, plain = (SeqGAN(vocab, gen, disc, seq_len=5, fast_discriminator=flag) for flag in (True, False))
    assert isinstance(fast.reward, PrefixSharingScorer) and fast.reward.discriminator is fast.discriminator
    assert fast.d_logits == fast.reward.logits
    assert plain.reward == plain.discriminator.prob_real and not getattr(plain.reward, "shares_prefix", False)
    assert plain.d_logits == plain.discriminator.__call__
    assert "reward" not in dict(fast.named_children())  # no second copy of D's weights in checkpoints
    assert fast.state_dict().keys() == plain.state_dict().keys()
