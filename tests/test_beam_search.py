"""Decoding: beam width 1 is greedy; a wide beam finds the exact best sequence of a toy model (by enumeration,
with and without length normalisation); wider beams score at least as high as greedy on average; sampling with
top-k = 1 is greedy; everything after <eos> is <pad>."""

import itertools
import math

import pytest
import torch

from textgan.decoding import beam_search, decode, greedy_decode, sample_decode
from textgan.models.seq2seq import Seq2Seq

PAD, BOS, EOS = 0, 1, 2


class ToyPolicy:
    """A conditional model small enough to enumerate: logits of step t depend on (input row, t, previous
    token) through a fixed random table. State: (row, t, previous token) per hypothesis."""

    eos_id, pad_id = EOS, PAD

    def __init__(self, batch: int, max_len: int, vocab: int, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.table = torch.randn(batch, max_len + 1, vocab, vocab, generator=g) * 2.0
        self.table[..., PAD] = -1e9  # never produce <pad> or <bos> (ids 0, 1)
        self.table[..., BOS] = -1e9
        self.batch = batch

    def start(self):
        rows = torch.arange(self.batch)
        state = (rows, torch.zeros_like(rows), torch.full_like(rows, BOS))
        return self.table[rows, 0, BOS], state

    def step(self, tokens, state):
        rows, t, _ = state
        return self.table[rows, t + 1, tokens], (rows, t + 1, tokens)

    @staticmethod
    def index_state(state, index):
        return tuple(s[index] for s in state)

    def seq_logprob(self, row: int, seq: list[int]) -> float:
        logp, prev = 0.0, BOS
        for t, tok in enumerate(seq):
            logp += torch.log_softmax(self.table[row, t, prev], -1)[tok].item()
            prev = tok
        return logp


def _all_sequences(vocab: int, max_len: int):
    """Every response: words then <eos> (length <= max_len), or max_len words without <eos>."""
    words = range(EOS + 1, vocab)
    for n in range(max_len):
        for body in itertools.product(words, repeat=n):
            yield [*body, EOS]
    yield from (list(body) for body in itertools.product(words, repeat=max_len))


def _strip(row: list[int]) -> list[int]:
    return row[: row.index(EOS) + 1] if EOS in row else [t for t in row if t != PAD]


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wide_beam_finds_the_exact_best_sequence(alpha):
    batch, max_len, vocab = 6, 4, 5  # words 3, 4 (+<eos>): 2^4 + 15 = 31 responses per input
    policy = ToyPolicy(batch, max_len, vocab, seed=1)
    tokens, scores = beam_search(policy, max_len, beam_size=64, length_penalty=alpha, n_best=3)
    for row in range(batch):
        scored = [(policy.seq_logprob(row, s) / len(s) ** alpha, s) for s in _all_sequences(vocab, max_len)]
        ranked = sorted(scored, key=lambda x: -x[0])
        for j in range(3):
            assert _strip(tokens[row, j].tolist()) == ranked[j][1]
            assert scores[row, j].item() == pytest.approx(ranked[j][0], abs=1e-4)


def test_narrow_beam_is_not_exhaustive_on_the_toy_model():
    # guards the test above: the toy model must be hard enough that greedy misses the best sequence somewhere
    batch, max_len, vocab = 6, 4, 5
    policy = ToyPolicy(batch, max_len, vocab, seed=1)
    greedy = greedy_decode(policy, max_len)
    best, _ = beam_search(policy, max_len, beam_size=64)
    assert any(_strip(greedy[r].tolist()) != _strip(best[r, 0].tolist()) for r in range(batch))


def test_beam_width_one_equals_greedy_on_toy_and_seq2seq():
    policy = ToyPolicy(8, 6, 7, seed=3)
    assert torch.equal(beam_search(policy, 6, beam_size=1)[0][:, 0], greedy_decode(policy, 6))
    torch.manual_seed(0)
    model = Seq2Seq(30, 8, 16, pad_id=PAD, bos_id=BOS, eos_id=EOS).eval()
    context = torch.randint(3, 30, (16, 7))
    context[::2, 4:] = PAD
    assert torch.equal(beam_search(model.bind(context), 10, beam_size=1)[0][:, 0],
                       greedy_decode(model.bind(context), 10))


def _response_logprob(model, context, responses):
    mask = responses != PAD
    return (model.log_probs(context, responses) * mask).sum(1)


def test_wider_beams_score_at_least_greedy_on_average():
    torch.manual_seed(0)
    model = Seq2Seq(20, 8, 16, pad_id=PAD, bos_id=BOS, eos_id=EOS).eval()
    with torch.no_grad():  # peakier next-token distributions: greedy and beam then differ in length and score
        model.output.weight.mul_(4.0)
    context = torch.randint(3, 20, (64, 6))
    with torch.no_grad():
        greedy = _response_logprob(model, context, greedy_decode(model.bind(context), 8))
        beam, scores = beam_search(model.bind(context), 8, beam_size=5)
        beam_lp = _response_logprob(model, context, beam[:, 0])
    assert torch.allclose(beam_lp, scores[:, 0], atol=1e-4)  # the returned score is the model's log-prob
    assert beam_lp.mean() >= greedy.mean()
    assert (beam_lp > greedy + 1e-4).any()  # the beam actually found better responses somewhere


def test_n_best_lists_are_sorted_and_distinct():
    policy = ToyPolicy(4, 5, 6, seed=2)
    tokens, scores = beam_search(policy, 5, beam_size=4, n_best=4)
    assert (scores[:, :-1] >= scores[:, 1:]).all()
    for row in range(4):
        seqs = {tuple(_strip(tokens[row, j].tolist())) for j in range(4)}
        assert len(seqs) == 4


def test_pad_after_eos_and_sampling_with_top_k_one_is_greedy():
    policy = ToyPolicy(8, 6, 7, seed=4)
    for out in (greedy_decode(policy, 6), sample_decode(policy, 6, temperature=0.7),
                decode(policy, 6, "beam", beam_size=3)):
        for row in out.tolist():
            if EOS in row:
                assert all(t == PAD for t in row[row.index(EOS) + 1:])
            assert PAD not in row[: row.index(EOS) if EOS in row else len(row)]
    torch.manual_seed(0)
    assert torch.equal(sample_decode(policy, 6, top_k=1), greedy_decode(policy, 6))
    assert torch.equal(sample_decode(policy, 6, top_p=1e-6), greedy_decode(policy, 6))


def test_sampling_follows_the_model_distribution():
    # first token of 4000 samples of one input vs its softmax (temperature 1 and 0.5)
    policy = ToyPolicy(1, 2, 5, seed=5)
    policy.table = policy.table.expand(4000, -1, -1, -1)
    policy.batch = 4000
    for temp in (1.0, 0.5):
        torch.manual_seed(1)
        first = sample_decode(policy, 1, temperature=temp)[:, 0]
        probs = torch.softmax(policy.table[0, 0, BOS] / temp, -1)
        freq = torch.bincount(first, minlength=5).float() / 4000
        assert torch.allclose(freq, probs, atol=0.03), (freq, probs)


def test_bad_arguments_are_clear():
    policy = ToyPolicy(2, 3, 5)
    with pytest.raises(ValueError, match="n_best"):
        beam_search(policy, 3, beam_size=2, n_best=3)
    with pytest.raises(ValueError, match="decode must be one of"):
        decode(policy, 3, "nucleus")
    assert math.isfinite(beam_search(policy, 3, beam_size=2)[1][0, 0].item())
