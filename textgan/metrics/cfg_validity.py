"""The arithmetic-expression grammar of the Gumbel-softmax GAN paper, its parser, and the sample metrics.

Kusner & Hernandez-Lobato (2016), section 4, train on strings of the context-free grammar

    S -> x | y | z | S + S | S - S | S * S | S / S | ( S )

(the paper writes `S -> x | S+S | S-S | S*S | S/S | (S)`; we use three variables x, y, z), one token per
symbol,
at most 12 tokens. The grammar is ambiguous; `is_valid` decides membership with an equivalent unambiguous
recursive-descent grammar that accepts exactly the same strings:

    E -> T (('+' | '-') T)*        T -> F (('*' | '/') F)*        F -> VAR | '(' E ')'

(every S-derivation is an expression of this form and vice versa; `tests/test_cfg.py` checks the two agree
with
nltk's chart parser on the ambiguous grammar.)

Sample metrics (the molecule-generation conventions, e.g. MOSES):
- `cfg_valid`: fraction of samples the grammar accepts (a sample is its tokens before the first `<eos>`);
- `unique`: distinct valid strings / valid samples;
- `novel`: distinct valid strings not in the training set / distinct valid strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

VARIABLES: tuple[str, ...] = ("x", "y", "z")
OPERATORS: tuple[str, ...] = ("+", "-", "*", "/")
PARENTHESES: tuple[str, ...] = ("(", ")")
TERMINALS: tuple[str, ...] = VARIABLES + OPERATORS + PARENTHESES
MAX_TOKENS = 12

GRAMMAR_TEXT = "S -> x | y | z | S + S | S - S | S * S | S / S | ( S )"


class _Parser:
    """Recursive descent over a token list; `parse()` is True iff the whole list is one expression."""

    def __init__(self, tokens: Sequence[str], variables: Sequence[str]):
        self.tokens, self.variables, self.pos = tokens, set(variables), 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def expression(self) -> bool:  # E -> T (('+'|'-') T)*
        if not self.term():
            return False
        while self.peek() in ("+", "-"):
            self.pos += 1
            if not self.term():
                return False
        return True

    def term(self) -> bool:  # T -> F (('*'|'/') F)*
        if not self.factor():
            return False
        while self.peek() in ("*", "/"):
            self.pos += 1
            if not self.factor():
                return False
        return True

    def factor(self) -> bool:  # F -> VAR | '(' E ')'
        tok = self.peek()
        if tok in self.variables:
            self.pos += 1
            return True
        if tok == "(":
            self.pos += 1
            if not self.expression() or self.peek() != ")":
                return False
            self.pos += 1
            return True
        return False

    def parse(self) -> bool:
        return self.expression() and self.pos == len(self.tokens)


def is_valid(
    tokens: Sequence[str], variables: Sequence[str] = VARIABLES, max_tokens: int | None = MAX_TOKENS
) -> bool:
    """True iff `tokens` (a list of symbols, e.g. `["(", "x", "+", "y", ")"]`) is derivable from S and has
    at most
    `max_tokens` tokens (None: any length)."""
    tokens = list(tokens)
    if not tokens or (max_tokens is not None and len(tokens) > max_tokens):
        return False
    return _Parser(tokens, variables).parse()


def expression_tokens(vocab, ids: Sequence[int]) -> list[str]:
    """The symbols of one generated sample `ids` up to its first `<eos>`; other specials are kept, since they
    make the sample invalid (`vocab`: a `textgan.data.vocab.Vocabulary`)."""
    toks = vocab.decode(ids, strip_special=False)
    eos = vocab.itos[vocab.eos_id]
    return toks[: toks.index(eos)] if eos in toks else toks


def cfg_sample_metrics(
    samples: Iterable[Sequence[str]],
    train_strings: set[str],
    variables: Sequence[str] = VARIABLES,
    max_tokens: int | None = MAX_TOKENS,
) -> dict[str, float]:
    """`cfg_valid`, `unique`, `novel` (see the module docstring) of decoded `samples` (token lists, `<eos>`
    and
    padding already removed). `train_strings` holds the training sequences joined without separator."""
    samples = [list(s) for s in samples]
    if not samples:
        raise ValueError("cfg_sample_metrics needs at least one sample")
    valid = ["".join(s) for s in samples if is_valid(s, variables, max_tokens)]
    distinct = set(valid)
    return {
        "cfg_valid": len(valid) / len(samples),
        "unique": len(distinct) / len(valid) if valid else 0.0,
        "novel": len(distinct - train_strings) / len(distinct) if distinct else 0.0,
    }
