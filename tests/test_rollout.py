"""Monte Carlo rollouts (`textgan.rollout`): shapes, prefixes kept, the rest sampled from the policy, the last
column, and an expected reward computed by hand."""

import pytest
import torch
import torch.nn as nn

from textgan.models.lstm import LSTMGenerator
from textgan.rollout import (
    mc_rewards,
    rollout_completions,
    shares_prefix,
    takes_source_row,
    update_rollout_policy,
)


class UniformPolicy(LSTMGenerator):
    """An LSTMGenerator whose next-token distribution is uniform, whatever the prefix."""

    def __init__(self, vocab_size, eos_id=None, pad_id=None):
        super().__init__(vocab_size, 4, 4, eos_id=eos_id, pad_id=pad_id)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)


def test_completions_keep_prefix_and_shape():
    torch.manual_seed(0)
    g = LSTMGenerator(7, 8, 8)
    seqs = g.sample(3, 5)
    comp = rollout_completions(g, seqs, num_rollouts=4)
    assert comp.shape == (4 * 4 * 3, 5)
    comp = comp.view(4, 4, 3, 5)  # [prefix t, rollout, batch, seq_len]
    for t in range(4):
        assert torch.equal(comp[t, :, :, : t + 1], seqs[None, :, : t + 1].expand(4, 3, t + 1))
    # the continuations are sampled, not copied: with 7 symbols, 16*3 rows of 4 free tokens never all match
    assert not torch.equal(comp[0, :, :, 1:], seqs[None, :, 1:].expand(4, 3, 4))


def test_continuations_follow_the_policy_distribution():
    """A uniform policy over 4 symbols: every free position of the completions is close to uniform."""
    torch.manual_seed(1)
    g = UniformPolicy(4)
    seqs = torch.zeros(8, 6, dtype=torch.long)
    comp = rollout_completions(g, seqs, num_rollouts=200).view(5, 200, 8, 6)
    free = comp[0, :, :, 1:].reshape(-1)  # prefix of length 1: positions 1..5 are sampled
    freq = torch.bincount(free, minlength=4).float() / free.numel()
    assert torch.allclose(freq, torch.full((4,), 0.25), atol=0.01)


def test_expected_reward_by_hand():
    """Uniform policy over {0,1,2}; reward = fraction of tokens equal to 2.

    For a prefix of length t+1 with k twos, E[reward] = (k + (T-t-1)/3) / T. The last column is the exact reward.
    """
    torch.manual_seed(2)
    T = 5
    g = UniformPolicy(3)
    seqs = torch.tensor([[2, 2, 0, 1, 2], [0, 0, 0, 0, 0]])

    def reward(x):
        return (x == 2).float().mean(dim=1)

    q = mc_rewards(g, reward, seqs, num_rollouts=4000, reward_batch_size=997)
    assert q.shape == (2, T) and q.dtype == torch.float32
    expected = torch.empty(2, T)
    for b in range(2):
        for t in range(T):
            k = (seqs[b, : t + 1] == 2).sum().item()
            expected[b, t] = (k + (T - t - 1) / 3) / T
    assert torch.allclose(q, expected, atol=0.01), (q, expected)
    assert torch.equal(q[:, -1], reward(seqs))


class CountingPolicy:
    """A deterministic Markov policy: the next token is (last token + 1) mod V. Its state is the last token."""

    eos_id = pad_id = None

    def __init__(self, v):
        self.v = v

    def _logits(self, last):
        return torch.nn.functional.one_hot((last + 1) % self.v, self.v).float() * 100.0

    def prefix_states(self, tokens):
        states = [(tokens[:, t],) for t in range(tokens.shape[1])]
        return states, torch.stack([self._logits(tokens[:, t]) for t in range(tokens.shape[1])], dim=1)

    def step(self, tokens, state):
        return self._logits(tokens), (tokens,)

    @staticmethod
    def index_state(state, index):
        return (state[0][index],)


@pytest.mark.parametrize("step_rows", [1, 4, 512])
def test_continuations_are_conditioned_on_the_prefix(step_rows):
    """Each completion continues from its own prefix (a known defect: restarting or using another row's state),
    however the rows of a prefix length are sliced (`step_rows`)."""
    v, T = 10, 6
    seqs = torch.tensor([[3, 7, 1, 9, 4, 0], [5, 5, 5, 5, 5, 5]])
    comp = rollout_completions(CountingPolicy(v), seqs, num_rollouts=3, step_rows=step_rows).view(T - 1, 3, 2, T)
    for t in range(T - 1):
        for b in range(2):
            last = seqs[b, t].item()
            expected = seqs[b, : t + 1].tolist() + [(last + k) % v for k in range(1, T - t)]
            for r in range(3):
                assert comp[t, r, b].tolist() == expected


@pytest.mark.parametrize("step_rows", [7, 512])
def test_eos_ends_rollouts_and_padding_follows(step_rows):
    torch.manual_seed(4)
    eos, pad = 1, 0
    g = UniformPolicy(4, eos_id=eos, pad_id=pad)
    seqs = torch.tensor([[2, 1, 0, 0, 0], [3, 3, 2, 3, 2]])
    comp = rollout_completions(g, seqs, num_rollouts=50, step_rows=step_rows).view(4, 50, 2, 5)
    # row 0 ended at t=1: completions of prefixes that contain the <eos> are all padding afterwards
    assert (comp[1:, :, 0, 2:] == pad).all()
    # in every completion, everything after the first <eos> is <pad>
    flat = comp.reshape(-1, 5)
    for row in flat:
        hits = (row == eos).nonzero()
        if len(hits):
            assert (row[hits[0, 0] + 1 :] == pad).all()
    # and a sampled <eos> does occur (uniform over 4 symbols, many rows)
    assert (comp[0, :, 1, 1:] == eos).any()


def test_delayed_policy_update_rate():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    wa, wb = a.weight.detach().clone(), b.weight.detach().clone()
    update_rollout_policy(a, b, 0.8)
    assert torch.allclose(a.weight, 0.8 * wa + 0.2 * wb)


def test_batched_rollouts_agree_with_the_original_loop():
    """`mc_rewards` and the per-prefix, per-rollout loop estimate the same Q (random LSTM and a random reward)."""
    from textgan.rollout import mc_rewards_loop

    torch.manual_seed(5)
    g = LSTMGenerator(6, 8, 8)
    w = torch.randn(6)

    def reward(x):  # a smooth function of the whole sequence, in (0, 1)
        return torch.sigmoid(w[x].sum(dim=1) / 3)

    seqs = g.sample(3, 5)
    fast = mc_rewards(g, reward, seqs, num_rollouts=3000)
    # the loop treats rows independently: 300 copies x 10 rollouts = 3000 rollouts per sequence, fewer passes
    slow = mc_rewards_loop(g, reward, seqs.repeat(300, 1), num_rollouts=10).view(300, 3, 5).mean(0)
    assert torch.allclose(fast, slow, atol=0.02), (fast, slow)
    assert torch.allclose(fast[:, -1], slow[:, -1], atol=1e-6)


def test_prefix_sharing_reward_gets_whole_groups_of_one_prefix():
    """A reward marked `shares_prefix` is called once per chunk of one prefix length, with `prefix_len` and
    `group`, and what mc_rewards promises holds: rows i and i + group share tokens[:prefix_len], and the first
    `group` rows are the batch's own prefixes, in batch order."""
    torch.manual_seed(7)
    g = LSTMGenerator(9, 4, 4)
    seqs = g.sample(3, 6)
    calls = []

    @shares_prefix
    def reward(tokens, prefix_len=0, group=None):
        calls.append((len(tokens), prefix_len, group))
        if group:
            assert len(tokens) % group == 0
            assert torch.equal(tokens[:group, :prefix_len], seqs[:, :prefix_len])
            shared = tokens[:, :prefix_len].view(-1, group, prefix_len)
            assert (shared == shared[:1]).all()
        return (tokens == 2).float().mean(dim=1)

    q = mc_rewards(g, reward, seqs, num_rollouts=4, reward_batch_size=7)  # chunks of 2 groups = 6 rows
    assert q.shape == (3, 6)
    shared_calls = [c for c in calls if c[2]]
    assert sorted({c[1] for c in shared_calls}) == [1, 2, 3, 4, 5]
    assert all(n == 6 for n, _, _ in shared_calls) and sum(n for n, _, _ in shared_calls) == 5 * 4 * 3


@pytest.mark.parametrize("prefix_sharing", [False, True])
def test_a_reward_that_takes_source_row_is_told_which_sequence_each_row_continues(prefix_sharing):
    """`source_row[i]` is the sequence that row i of a chunk is (final scores) or continues (completions), whatever
    the chunk size: 7 rows for a batch of 3, so plain chunks do not start at multiples of the batch."""
    torch.manual_seed(3)
    g = LSTMGenerator(9, 4, 4)
    seqs = g.sample(3, 5)
    seqs[:, 0] = torch.tensor([6, 7, 8])  # sequences told apart by their first token
    calls = []

    def reward(tokens, source_row, **kwargs):
        calls.append((tokens.clone(), source_row.clone(), kwargs))
        return tokens.float().mean(dim=1)

    reward = takes_source_row(shares_prefix(reward) if prefix_sharing else reward)
    q = mc_rewards(g, reward, seqs, num_rollouts=2, reward_batch_size=7)
    assert q.shape == (3, 5)
    assert all(len(t) == len(s) for t, s, _ in calls)
    tokens, source = torch.cat([t for t, _, _ in calls]), torch.cat([s for _, s, _ in calls])
    assert torch.equal(source[:3], torch.arange(3)) and torch.equal(tokens[:3], seqs)  # the final scores
    completions, source = tokens[3:], source[3:]
    assert len(completions) == 4 * 2 * 3
    for i, (row, j) in enumerate(zip(completions, source.tolist())):
        t = i // (2 * 3)  # completions of prefix length t + 1
        assert torch.equal(row[: t + 1], seqs[j, : t + 1]), (i, j)
    if prefix_sharing:
        assert [c[2] for c in calls[1:]] == [{"prefix_len": t + 1, "group": 3} for t in range(4)]


def test_step_rows_default_is_chosen_by_device():
    """On a CPU the default advances completions in cache-sized slices (`CPU_STEP_ROWS`): the same random stream,
    hence the same completions, as asking for them; whole blocks (the default elsewhere) draw in another order."""
    from textgan.rollout import CPU_STEP_ROWS

    torch.manual_seed(0)
    g = LSTMGenerator(7, 4, 4).eval()
    seqs = g.sample(64, 4)
    rollouts = 16  # blocks of 1024 rows: two slices of 512 on a CPU

    def completions(**kwargs):
        torch.manual_seed(1)
        return rollout_completions(g, seqs, rollouts, **kwargs)

    default = completions()
    assert torch.equal(default, completions(step_rows=CPU_STEP_ROWS))
    assert not torch.equal(default, completions(step_rows=rollouts * len(seqs)))
