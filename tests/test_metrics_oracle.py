"""NLL-oracle: the oracle scoring its own samples gives its entropy rate (computed exactly by enumeration)."""

import itertools

import torch

from textgan.data.oracle import OracleDataModule
from textgan.metrics.nll import nll_oracle, perplexity, sequence_nll
from textgan.models.lstm import LSTMGenerator
from textgan.models.oracle import build_oracle


def test_oracle_own_samples_score_its_entropy():
    torch.manual_seed(0)
    v, T = 4, 4
    oracle = build_oracle(v, 8, 8, seed=3)
    every = torch.tensor(list(itertools.product(range(v), repeat=T)))  # all 256 sequences
    logp = oracle.log_probs(every).sum(dim=1)
    assert torch.allclose(logp.exp().sum(), torch.tensor(1.0), atol=1e-5)
    entropy_rate = -(logp.exp() * logp).sum().item() / T  # nats per token
    samples = oracle.sample(40_000, T)
    per_seq = -oracle.log_probs(samples).sum(1) / T
    stderr = per_seq.std().item() / len(per_seq) ** 0.5
    assert abs(nll_oracle(oracle, samples) - entropy_rate) < 4 * stderr + 1e-4
    # another model's samples score worse than the entropy (cross-entropy >= entropy)
    other = LSTMGenerator(v, 8, 8)
    assert nll_oracle(oracle, other.sample(20_000, T)) > entropy_rate


def test_sequence_nll_excludes_padding():
    g = LSTMGenerator(5, 4, 4)
    x = torch.tensor([[2, 3, 1, 0, 0]])
    lp = g.log_probs(x)[0]
    assert abs(sequence_nll(g, x, pad_id=0) - (-lp[:3].mean().item())) < 1e-6
    assert abs(perplexity(0.0) - 1.0) < 1e-12


def test_oracle_data_is_cached_and_deterministic(tmp_path):
    kw = dict(vocab_size=20, embed_dim=4, hidden_dim=4, seq_len=6, num_train=30, num_test=10, seed=7)
    a = OracleDataModule(str(tmp_path / "a"), **kw)
    a.setup()
    b = OracleDataModule(str(tmp_path / "b"), **kw)
    b.setup()
    assert a.cache_file.exists() and torch.equal(a.train_tokens, b.train_tokens)
    assert a.train_tokens.shape == (30, 6) and a.test_tokens.shape == (10, 6)
    assert not torch.equal(a.train_tokens[:10], a.test_tokens)
    c = OracleDataModule(str(tmp_path / "a"), **{**kw, "seed": 8})
    c.setup()
    assert c.cache_file != a.cache_file and not torch.equal(c.train_tokens, a.train_tokens)
    batch = next(iter(a.train_dataloader()))
    assert batch.dtype == torch.long and batch.shape[1] == 6
