"""From text lines to padded token-id tensors, shared by every real-text datamodule.

- `tokenize(text, level, lower)`: whitespace words or characters.
- `fit_length(tokens, max_len, overlong, keep)`: truncate (from the end or the start) or drop over-long
  examples.
- `encode_padded(vocab, token_lists, length, add_eos)`: `[n, length]` ids: tokens, `<eos>`, then `<pad>`.
- `is_test_by_hash(text)`: the seedless split rule of `shared/data/chinese_poetry/SOURCE.md` (step 8),
  used for every corpus that ships without a test split: an example is test iff the first 8 bytes of its
  UTF-8 sha256, read as a big-endian integer, are 0 mod 10. Identical examples always land in the same
  split."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

from textgan.data.vocab import Vocabulary

LEVELS = ("word", "char")


def tokenize(text: str, level: str = "word", lower: bool = False) -> list[str]:
    """`level="word"`: whitespace-separated tokens; `"char"`: one token per Unicode code point (spaces
    included, runs of whitespace kept as they are)."""
    if lower:
        text = text.lower()
    if level == "word":
        return text.split()
    if level == "char":
        return list(text)
    raise ValueError(f"tokenization level must be one of {LEVELS}, got {level!r}")


def fit_length(tokens: list[str], max_len: int | None, overlong: str = "truncate",
               keep: str = "start") -> list[str] | None:
    """`tokens` cut to `max_len` (`keep="start"`: the first tokens, `"end"`: the last ones), or None when
    `overlong="drop"` and the example is too long. `max_len=None` keeps everything."""
    if max_len is None or len(tokens) <= max_len:
        return tokens
    if overlong == "drop":
        return None
    if overlong != "truncate":
        raise ValueError(f"overlong must be 'truncate' or 'drop', got {overlong!r}")
    return tokens[-max_len:] if keep == "end" else tokens[:max_len]


def encode_padded(vocab: Vocabulary, token_lists: Sequence[Sequence[str]], length: int,
                  add_eos: bool = True) -> torch.Tensor:
    """`[len(token_lists), length]` LongTensor: each row is its tokens' ids, then `<eos>` (if `add_eos`), then
    `<pad>`. Rows must fit (`len(tokens) + add_eos <= length`)."""
    rows, stoi, unk, eos = [], vocab.stoi, vocab.unk_id, [vocab.eos_id] if add_eos else []
    for i, tokens in enumerate(token_lists):
        # fast path of vocab.encode (unknown tokens -> <unk>)
        ids = [stoi.get(t, unk) for t in tokens] + eos if unk is not None else vocab.encode(tokens, add_eos)
        if len(ids) > length:
            raise ValueError(f"example {i} has {len(ids)} ids but the tensor length is {length}")
        rows.append(ids + [vocab.pad_id] * (length - len(ids)))
    return torch.tensor(rows, dtype=torch.long).reshape(len(rows), length)


def is_test_by_hash(text: str, modulus: int = 10) -> bool:
    """True when `text` belongs to the test split (about 1 in `modulus`), by the module docstring's rule."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") % modulus == 0
