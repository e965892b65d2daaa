"""Token <-> id mapping shared by every corpus, model and checkpoint.

A `Vocabulary` is an ordered list of token strings (`itos`). Special tokens come first, in the order
`<pad> <bos> <eos> <unk>`; a corpus may use fewer specials (the synthetic oracle uses none: its sequences have a
fixed length and no unknown words). Code asks the vocabulary for `pad_id`, `eos_id`, ... and never hard-codes ids.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from textgan.errors import UserError

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
DEFAULT_SPECIALS: tuple[str, ...] = (PAD, BOS, EOS, UNK)


class VocabularyMismatchError(UserError, ValueError):
    """A checkpoint was trained with a different vocabulary than the data now loaded."""


class Vocabulary:
    """An ordered token list with optional special tokens.

    Args:
        itos: every token, specials included, in id order.
        specials: which of `<pad> <bos> <eos> <unk>` are present (each must be in `itos`).
        separator: joins decoded tokens into text ("" for character-level corpora).
    """

    def __init__(self, itos: Sequence[str], specials: Sequence[str] = DEFAULT_SPECIALS, separator: str = " "):
        self.separator = separator  # how decoded tokens are joined into text: "" for characters, " " for words
        self.itos: list[str] = list(itos)
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dup = [t for t, c in Counter(self.itos).items() if c > 1][:5]
            raise ValueError(f"Vocabulary has duplicate tokens {dup}; every token must appear once.")
        self.specials = tuple(specials)
        for s in self.specials:
            if s not in self.stoi:
                raise ValueError(f"special token {s!r} is declared but missing from the vocabulary")

    # ----------------------------------------------------------------- construction
    @classmethod
    def build(
        cls,
        sequences: Iterable[Sequence[str]],
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = DEFAULT_SPECIALS,
        separator: str = " ",
    ) -> Vocabulary:
        """Vocabulary of the tokens in `sequences` (the training split), most frequent first.

        Ties are broken by the token string so the result does not depend on corpus order.
        `max_size` counts the non-special tokens.
        """
        counts = Counter(tok for seq in sequences for tok in seq)
        for s in specials:
            counts.pop(s, None)
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max_size]
        if not kept:
            raise ValueError(
                "cannot build a vocabulary from an empty corpus (no token reached min_freq="
                f"{min_freq}); check that the training file has text in it"
            )
        return cls(list(specials) + kept, specials, separator)

    # ----------------------------------------------------------------- special ids
    def _id(self, tok: str) -> int | None:
        return self.stoi[tok] if tok in self.specials else None

    @property
    def pad_id(self) -> int | None:
        return self._id(PAD)

    @property
    def bos_id(self) -> int | None:
        return self._id(BOS)

    @property
    def eos_id(self) -> int | None:
        return self._id(EOS)

    @property
    def unk_id(self) -> int | None:
        return self._id(UNK)

    def __len__(self) -> int:
        return len(self.itos)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Vocabulary) and self.itos == other.itos and self.specials == other.specials
                and self.separator == other.separator)

    def __repr__(self) -> str:
        return f"Vocabulary(size={len(self)}, specials={self.specials})"

    # ----------------------------------------------------------------- encode / decode
    def encode(self, tokens: Sequence[str], add_eos: bool = False) -> list[int]:
        """Token strings -> ids. Unknown tokens map to `<unk>` (an error when the vocabulary has none)."""
        unk = self.unk_id
        ids = []
        for tok in tokens:
            i = self.stoi.get(tok, unk)
            if i is None:
                raise KeyError(f"token {tok!r} is not in the vocabulary and it has no <unk>")
            ids.append(i)
        if add_eos:
            if self.eos_id is None:
                raise ValueError("add_eos=True but this vocabulary has no <eos>")
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Iterable[int], strip_special: bool = True) -> list[str]:
        """Ids -> token strings, stopping at the first `<eos>` and dropping `<pad>`/`<bos>` when `strip_special`."""
        out = []
        for i in ids:
            i = int(i)
            if strip_special:
                if i == self.eos_id:
                    break
                if i in (self.pad_id, self.bos_id):
                    continue
            out.append(self.itos[i])
        return out

    def to_text(self, ids: Iterable[int]) -> str:
        """Ids -> readable text (up to `<eos>`, specials dropped, tokens joined by `separator`)."""
        return self.separator.join(self.decode(ids))

    # ----------------------------------------------------------------- persistence
    def state_dict(self) -> dict:
        """Plain-Python state (safe to put into a `weights_only=True` checkpoint)."""
        return {"itos": list(self.itos), "specials": list(self.specials), "separator": self.separator}

    @classmethod
    def from_state_dict(cls, state: dict) -> Vocabulary:
        return cls(state["itos"], state["specials"], state.get("separator", " "))

    def save(self, path: str | os.PathLike) -> None:
        """Write `vocab.json` atomically (write to a temp file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.state_dict(), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        return cls.from_state_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def check_same(self, other: Vocabulary, what: str = "checkpoint") -> None:
        """Raise `VocabularyMismatchError` naming the first difference between `self` (data) and `other`."""
        if self == other:
            return
        if len(self) != len(other):
            detail = f"sizes differ: data has {len(self)} tokens, {what} has {len(other)}"
        else:
            i = next(i for i, (a, b) in enumerate(zip(self.itos, other.itos)) if a != b) if (
                self.itos != other.itos) else -1
            detail = (f"token {i} is {self.itos[i]!r} in the data but {other.itos[i]!r} in the {what}"
                      if i >= 0 else f"specials differ: {self.specials} vs {other.specials}")
        raise VocabularyMismatchError(
            f"vocabulary mismatch between the data and the {what} ({detail}). Load the checkpoint with the same "
            "data config (data=..., data.variant, min_freq, max_size) it was trained with."
        )
