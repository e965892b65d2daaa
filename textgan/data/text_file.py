"""Unconditional text corpora, one example per line: the shared `LinesDataModule` and `TextFileDataModule`
(`data=text_file data.path=...`, a user's own corpus).

Every line-based corpus (poems, English sentences, your file) becomes batches `[batch, seq_len]` of token ids:
tokens, then `<eos>` (when `add_eos`), then `<pad>`. `seq_len` counts the `<eos>`, so an example keeps at most
`seq_len - add_eos` tokens; longer ones are truncated (`overlong=truncate`, their first tokens kept) or
dropped (`overlong=drop`). The vocabulary (`<pad> <bos> <eos> <unk>` + tokens) comes from the training split
(`min_freq`, `max_size`); tokens of the test split that it lacks become `<unk>`. Validation and test read the
test split. `test_references` (a list of token lists, the test split after truncation) is what BLEU compares
generated samples with (`textgan.metrics.objects.BLEU`; which BLEU-n and on how many samples is the `metrics:`
config's, `conf/metrics/text.yaml`).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from textgan.data.download import DataFileError, read_text
from textgan.data.tokenize import encode_padded, fit_length, is_test_by_hash, tokenize
from textgan.data.tokens import TokensDataModule
from textgan.data.vocab import Vocabulary
from textgan.errors import ConfigError
from textgan.ranges import NonNegativeInt, PositiveInt, check_arguments


class LinesDataModule(TokensDataModule):
    """Base of the line-based corpora: subclasses implement `load_splits()` (and `prepare_data()` when files
    must be downloaded or built).

    Attributes after `setup()`: `vocab`, `seq_len`, `train_tokens` / `test_tokens` (`[n, seq_len]`
    LongTensors), `test_references` (list of token lists).
    """

    # what evaluation metrics may be built from (`textgan.metrics.build`)
    eval_provides = ("train_tokens", "test_tokens", "test_references")

    def __init__(
        self,
        seq_len: int,
        tokenize: str = "char",
        lower: bool = False,
        overlong: str = "truncate",
        add_eos: bool = True,
        min_freq: PositiveInt = 1,
        max_size: PositiveInt | None = None,
        batch_size: PositiveInt = 64,
        num_workers: NonNegativeInt = 0,
        max_train_examples: PositiveInt | None = None,
        max_test_examples: PositiveInt | None = None,
    ):
        check_arguments(LinesDataModule, locals(), "data")
        super().__init__()
        if seq_len < 1 + int(add_eos):
            raise ConfigError(f"data.seq_len={seq_len} leaves no room for a token (it counts <eos>)")
        if overlong not in ("truncate", "drop"):
            raise ConfigError(f"data.overlong must be 'truncate' or 'drop', got {overlong!r}")
        if tokenize not in ("word", "char"):
            raise ConfigError(f"data.tokenize must be 'word' or 'char', got {tokenize!r}")
        self.seq_len, self.level, self.lower = seq_len, tokenize, lower
        self.overlong, self.add_eos = overlong, add_eos
        self.min_freq, self.max_size = min_freq, max_size
        self.batch_size, self.num_workers = batch_size, num_workers
        self.max_train_examples, self.max_test_examples = max_train_examples, max_test_examples
        self.vocab: Vocabulary | None = None
        self.train_tokens: torch.Tensor | None = None
        self.test_tokens: torch.Tensor | None = None
        self.test_references: list[list[str]] = []

    def load_splits(self) -> tuple[list[str], list[str]]:
        """(train lines, test lines) as text."""
        raise NotImplementedError

    def _tokenize(self, lines: list[str], limit: int | None) -> list[list[str]]:
        out = []
        for line in lines:
            tokens = fit_length(tokenize(line, self.level, self.lower), self.seq_len - int(self.add_eos),
                                self.overlong, keep="start")
            if tokens:  # None (dropped) or empty
                out.append(tokens)
            if limit is not None and len(out) >= limit:
                break
        return out

    def setup(self, stage: str | None = None) -> None:
        if self.vocab is not None:
            return
        self.prepare_data()
        train_lines, test_lines = self.load_splits()
        train = self._tokenize(train_lines, self.max_train_examples)
        test = self._tokenize(test_lines, self.max_test_examples)
        if not train or not test:
            raise DataFileError(f"{type(self).__name__}: {len(train)} training and {len(test)} test examples "
                                f"after the length limit (overlong={self.overlong}, seq_len={self.seq_len}); "
                                "both splits need examples")
        self.vocab = Vocabulary.build(train, self.min_freq, self.max_size,
                                      separator="" if self.level == "char" else " ")
        self.train_tokens = encode_padded(self.vocab, train, self.seq_len, self.add_eos)
        self.test_tokens = encode_padded(self.vocab, test, self.seq_len, self.add_eos)
        self.test_references = test


def read_lines(path: str | os.PathLike, encoding: str = "utf-8", built: bool = False) -> list[str]:
    """Non-blank lines of a text file (trailing `\\r` removed), with `DataFileError`s for bad files (`built`: a
    file textgan built, see `read_text`)."""
    lines = [ln.rstrip("\r") for ln in read_text(path, encoding, built=built).split("\n")]
    return [ln for ln in lines if ln.strip()]


class TextFileDataModule(LinesDataModule):
    """A user's corpus: `path` has one example per line (UTF-8). The test split is `test_path` when given,
    else every line with `is_test_by_hash(line)` (about 10%, identical lines always in the same split).
    Tokens: `tokenize=word` (whitespace) or `char`."""

    def __init__(self, path: str, test_path: str | None = None, encoding: str = "utf-8", **kwargs):
        super().__init__(**kwargs)
        if not path:
            raise ConfigError("data=text_file needs data.path=<your corpus.txt> (one example per line)")
        self.path = Path(os.path.expanduser(path))
        self.test_path = Path(os.path.expanduser(test_path)) if test_path else None
        self.encoding = encoding

    def load_splits(self) -> tuple[list[str], list[str]]:
        lines = read_lines(self.path, self.encoding)
        if self.test_path is not None:
            return lines, read_lines(self.test_path, self.encoding)
        return [ln for ln in lines if not is_test_by_hash(ln)], [ln for ln in lines if is_test_by_hash(ln)]
