"""The CFG benchmark: the parser accepts/rejects hand-picked strings and agrees with nltk's chart parser on
the
paper's ambiguous grammar; the data is deterministic, within the length limit, split disjointly; the
metrics."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from textgan.data.cfg import CFGDataModule, generate_cfg_strings
from textgan.metrics.cfg_validity import TERMINALS, cfg_sample_metrics, is_valid
from textgan.metrics.objects import CFGValidity


@pytest.mark.parametrize("text", ["x", "(x)", "x+y", "x*(y-z)", "((x))/y", "x-y*z/x+y", "(x+(y))*(z)"])
def test_accepts(text):
    assert is_valid(list(text))


@pytest.mark.parametrize(
    "text", ["", "+", "x+", "(x", "x)", "()", "xy", "x(y)", "x+*y", "(x+y))", "*x", "x+y+z+x+y+z+x", "w"]
)
def test_rejects(text):
    assert not is_valid(list(text))  # the last-but-one has 13 tokens (> 12); "w" is not a variable


def test_agrees_with_nltk_chart_parser_on_the_ambiguous_grammar():
    nltk = pytest.importorskip("nltk")
    grammar = nltk.CFG.fromstring("""
        S -> 'x' | 'y' | 'z' | S '+' S | S '-' S | S '*' S | S '/' S | '(' S ')'
    """)
    parser = nltk.ChartParser(grammar)

    def nltk_valid(tokens):
        return bool(tokens) and any(True for _ in parser.parse(tokens))

    strings = [list(s) for n in range(1, 4) for s in itertools.product(TERMINALS, repeat=n)]
    rng = random.Random(0)
    strings += [[rng.choice(TERMINALS) for _ in range(rng.randint(5, 9))] for _ in range(150)]
    strings += generate_cfg_strings(50, seed=3, max_tokens=9)  # valid ones, long enough to be interesting
    disagreements = [s for s in strings if is_valid(s, max_tokens=None) != nltk_valid(s)]
    assert not disagreements, disagreements[:5]
    assert sum(is_valid(s) for s in strings) > 60  # the check covered valid strings too


def test_data_is_deterministic_bounded_and_split_disjointly():
    a, b = (
        CFGDataModule(num_train=300, num_test=100, seed=1),
        CFGDataModule(num_train=300, num_test=100, seed=1),
    )
    a.setup(), b.setup()
    assert torch.equal(a.train_tokens, b.train_tokens) and torch.equal(a.test_tokens, b.test_tokens)
    c = CFGDataModule(num_train=300, num_test=100, seed=2)
    c.setup()
    assert not torch.equal(a.train_tokens, c.train_tokens)
    assert a.train_tokens.shape == (300, 13)
    test_strings = {"".join(a.decode(r)) for r in a.test_tokens.tolist()}
    assert len(test_strings) == 100 and not test_strings & a.train_strings and len(a.train_strings) == 300
    for row in a.train_tokens.tolist():
        tokens = a.decode(row)
        assert is_valid(tokens) and len(tokens) <= 12
        assert row[len(tokens)] == a.vocab.eos_id and all(t == a.vocab.pad_id for t in row[len(tokens) + 1 :])


def test_sample_metrics_by_hand():
    dm = CFGDataModule(num_train=50, num_test=10, seed=1)
    dm.setup()
    train0, test0 = dm.train_tokens[0], dm.test_tokens[0]
    invalid = torch.full_like(train0, dm.vocab.pad_id)
    invalid[:3] = torch.tensor(dm.vocab.encode(["x", "+", ")"]))
    metric = CFGValidity(dm.vocab, dm.train_strings, dm.variables, dm.max_tokens)
    metric.update(torch.stack([train0, train0, invalid, test0]))
    m = metric.compute()
    assert m == {"cfg_valid": 3 / 4, "unique": 2 / 3, "novel": 1 / 2}
    assert cfg_sample_metrics([["(", "x"]], set()) == {"cfg_valid": 0.0, "unique": 0.0, "novel": 0.0}


def test_bad_settings_name_the_fix():
    with pytest.raises(ValueError, match="seq_len"):
        CFGDataModule(seq_len=1)
    with pytest.raises(ValueError, match="num_train"):
        CFGDataModule(num_train=10, num_test=5, seq_len=2).setup()  # only x, y, z have 1 token
