"""`CFGDataModule`: the Gumbel-softmax GAN's synthetic benchmark (Kusner & Hernandez-Lobato 2016, section 4).

Strings of the arithmetic-expression grammar (exactly, see `textgan.metrics.cfg_validity`)

    S -> x | y | z | S + S | S - S | S * S | S / S | ( S )

with at most `seq_len - 1` (12) tokens, one token per symbol. They are drawn deterministically from `seed` by
expanding S at random (probabilities: a variable `p_variable` = 0.5, split evenly among the variables; one
of the
four binary rules `p_binary` = 0.4 together; parentheses the rest, 0.1), rejecting derivations longer than
`seq_len - 1` tokens, and keeping distinct strings until `num_train + num_test` are collected; they are
then shuffled
(same seed) and split, so the test strings never occur in the training set.

Batches are `[batch, seq_len]`: tokens, `<eos>`, `<pad>`. The module provides the grammar's settings and the
training strings (`eval_provides`); the metric that scores samples against them is
`textgan.metrics.objects.CFGValidity` (`cfg_valid`, `unique`, `novel`).
"""

from __future__ import annotations

import random

import torch

from textgan.data.tokens import TokensDataModule
from textgan.data.vocab import DEFAULT_SPECIALS, Vocabulary
from textgan.errors import ConfigError
from textgan.metrics.cfg_validity import MAX_TOKENS, OPERATORS, PARENTHESES, VARIABLES, expression_tokens
from textgan.ranges import NonNegativeInt, PositiveInt, check_arguments


class _TooLong(Exception):
    pass


def random_expression(
    rng: random.Random,
    variables=VARIABLES,
    max_tokens: int = MAX_TOKENS,
    p_variable: float = 0.5,
    p_binary: float = 0.4,
) -> list[str] | None:
    """One random derivation from S, as a token list, or None when it exceeds `max_tokens` tokens."""
    out: list[str] = []

    def expand() -> None:
        if len(out) >= max_tokens:
            raise _TooLong
        r = rng.random()
        if r < p_variable:
            out.append(rng.choice(variables))
        elif r < p_variable + p_binary:
            op = rng.choice(OPERATORS)
            expand()
            out.append(op)
            expand()
        else:
            out.append(PARENTHESES[0])
            expand()
            out.append(PARENTHESES[1])
        if len(out) > max_tokens:
            raise _TooLong

    try:
        expand()
    except _TooLong:
        return None
    return out


def generate_cfg_strings(
    num: int,
    seed: int,
    variables=VARIABLES,
    max_tokens: int = MAX_TOKENS,
    p_variable: float = 0.5,
    p_binary: float = 0.4,
) -> list[list[str]]:
    """`num` distinct expressions (token lists) in a seed-determined order."""
    rng = random.Random(seed)
    seen: dict[str, list[str]] = {}
    attempts = 0
    while len(seen) < num:
        attempts += 1
        if attempts > 200 * num + 100_000:
            raise ValueError(
                f"the grammar gave only {len(seen)} distinct strings of <= {max_tokens} tokens after "
                f"{attempts} draws; ask for fewer (data.num_train + data.num_test) or raise "
                "data.seq_len"
            )
        expr = random_expression(rng, variables, max_tokens, p_variable, p_binary)
        if expr is not None:
            seen.setdefault("".join(expr), expr)
    strings = [seen[k] for k in sorted(seen)]
    rng.shuffle(strings)
    return strings


class CFGDataModule(TokensDataModule):
    """Batches of `[batch, seq_len]` grammar strings of at most `seq_len - 1` tokens (paper: 12). Exposes
    `vocab`, `seq_len`, `train_tokens`,
    `test_tokens`, `train_strings` (set of training strings), `variables` and `max_tokens`."""

    # what evaluation metrics may be built from (`textgan.metrics.build`)
    eval_provides = ("train_tokens", "test_tokens", "train_strings", "variables", "max_tokens")

    def __init__(
        self,
        num_train: PositiveInt = 5000,
        num_test: PositiveInt = 1000,
        seq_len: PositiveInt = MAX_TOKENS + 1,
        variables: tuple[str, ...] | list[str] = VARIABLES,
        p_variable: float = 0.5,
        p_binary: float = 0.4,
        seed: int = 7,
        batch_size: PositiveInt = 64,
        num_workers: NonNegativeInt = 0,
    ):
        check_arguments(CFGDataModule, locals(), "data")
        super().__init__()
        if not (p_variable > 0 and p_variable + p_binary <= 1):
            raise ConfigError("need p_variable > 0 and p_variable + p_binary < 1 (parentheses take the rest)")
        if seq_len < 2:
            raise ConfigError(f"data.seq_len must be >= 2 (tokens + <eos>), got {seq_len}")
        self.num_train, self.num_test, self.max_tokens = num_train, num_test, seq_len - 1
        self.variables = tuple(variables)
        self.p_variable, self.p_binary, self.seed = p_variable, p_binary, seed
        self.batch_size, self.num_workers = batch_size, num_workers
        self.seq_len = seq_len
        self.vocab = Vocabulary(
            list(DEFAULT_SPECIALS) + list(self.variables) + list(OPERATORS) + list(PARENTHESES), separator=""
        )
        self.train_tokens: torch.Tensor | None = None
        self.test_tokens: torch.Tensor | None = None
        self.train_strings: set[str] = set()

    def _encode(self, strings: list[list[str]]) -> torch.Tensor:
        out = torch.full((len(strings), self.seq_len), self.vocab.pad_id, dtype=torch.long)
        for i, s in enumerate(strings):
            ids = self.vocab.encode(s, add_eos=True)
            out[i, : len(ids)] = torch.tensor(ids)
        return out

    def setup(self, stage: str | None = None) -> None:
        if self.train_tokens is not None:
            return
        strings = generate_cfg_strings(
            self.num_train + self.num_test,
            self.seed,
            self.variables,
            self.max_tokens,
            self.p_variable,
            self.p_binary,
        )
        train, test = strings[: self.num_train], strings[self.num_train :]
        self.train_tokens, self.test_tokens = self._encode(train), self._encode(test)
        self.train_strings = {"".join(s) for s in train}

    def decode(self, ids) -> list[str]:
        """Token strings of one sample up to its first `<eos>` (other specials kept: they make it invalid)."""
        return expression_tokens(self.vocab, ids)
