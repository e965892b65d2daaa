"""`DialogueDataModule`: context -> response pairs for conditional (dialogue) generation.

Corpora (`corpus=`): `dailydialog` (default; ~76k / 7k / 7k pairs), `chatterbot_en`, `chatterbot_zh` (tiny, for
smoke tests; test split by `is_test_by_hash` of the pair), `file` (your own pairs, `path=some.tsv`, one
`context<TAB>response` a line; optional `test_path`, else the hash split). Their processed files live under
`root` and are built when missing by `textgan.data.dialogue_corpora`.

Tokens: whitespace words (`tokenize=word`, optional `lower`), or characters (`tokenize=char`; `auto`
picks char for `chatterbot_zh`, whose text has no spaces). One vocabulary for contexts and responses,
built from the training split (`min_freq`, `max_size`). Length limits: `max_context_len`,
`max_response_len` tokens (20 as in Li et al. 2017). With `overlong=truncate` (default) a long context
keeps its LAST tokens (nearest the response) and a long response its FIRST tokens; with `overlong=drop`
such pairs are removed (from every split).

Dialogues: the pairs of each split are chained back into whole dialogues (`rebuild_dialogues`; the
processed files keep every dialogue's consecutive pairs in order). `context_turns` (default 1: the pairs as
they are) makes each context the previous N turns concatenated (Li et al. 2016 use 2); `direction=backward`
swaps every pair (the previous turn given the response: the backward model p(q | a) of Li et al. 2016). The
vocabulary is that of the single-turn forward pairs in every case.

Batches: `(context [B, context_len], response [B, seq_len])`; response = tokens, `<eos>`, `<pad>`;
context = tokens, `<eos>` (if `context_eos`), `<pad>`. `seq_len = max_response_len + 1`, `context_len =
max_context_len + context_eos`. Validation reads the validation split where the corpus has one, else the
test split. For BLEU, `test_contexts` / `test_responses` are plain lists of token lists (after the length
limit), aligned pair by pair.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import NamedTuple

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from textgan.data.dialogue_corpora import (
    CHATTERBOT_LANGUAGES,
    CORPORA,
    Pair,
    prepare_chatterbot,
    prepare_dailydialog,
    read_pairs,
    rebuild_dialogues,
)
from textgan.data.download import DataFileError
from textgan.data.tokenize import encode_padded, fit_length, is_test_by_hash, tokenize
from textgan.data.vocab import Vocabulary
from textgan.errors import ConfigError
from textgan.ranges import NonNegativeInt, PositiveInt, check_arguments

DIRECTIONS = ("forward", "backward")


class PairIds(NamedTuple):
    """One split as token ids: `contexts [n, context_len]`, `responses [n, seq_len]` (LongTensors, row i of each is
    pair i)."""

    contexts: torch.Tensor
    responses: torch.Tensor


def _split_part(split: str, part: str) -> property:
    return property(lambda self: getattr(self.ids[split], part), doc=f"`ids['{split}'].{part}`")


class _PairDataset(Dataset):
    def __init__(self, contexts: torch.Tensor, responses: torch.Tensor):
        self.contexts, self.responses = contexts, responses

    def __len__(self) -> int:
        return len(self.responses)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.contexts[i], self.responses[i]


def collate_pairs(items: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack `(context, response)` items into `(context [B, S], response [B, T])`."""
    contexts, responses = zip(*items)
    return torch.stack(contexts), torch.stack(responses)


class DialogueDataModule(pl.LightningDataModule):
    """Context -> response pairs (see the module docstring for corpora, tokens and lengths).

    Attributes after `setup()`: `vocab`, `seq_len`, `context_len`, `ids` (`{"train", "val", "test"}` ->
    `PairIds(contexts [n, context_len], responses [n, seq_len])`; `val` is the test split where the corpus has
    no validation split), `test_contexts`, `test_responses` (lists of token lists, for BLEU), `train_tokens` /
    `test_tokens` (the response tensors). `train_contexts_ids`, `test_responses_ids`, ... name the parts of `ids`.
    """

    provides_data = "pairs"  # batches (context, response): for the methods whose `needs_data` is "pairs"
    # what evaluation metrics may be built from (`textgan.metrics.build`): the response metrics score the
    # method's responses against the batches' own human responses, so they need nothing more
    eval_provides: tuple[str, ...] = ()

    def __init__(
        self,
        root: str,
        corpus: str = "dailydialog",
        path: str | None = None,
        test_path: str | None = None,
        tokenize: str = "auto",
        lower: bool = False,
        max_context_len: PositiveInt = 20,
        max_response_len: PositiveInt = 20,
        seq_len: PositiveInt | None = None,
        overlong: str = "truncate",
        context_eos: bool = True,
        min_freq: PositiveInt = 1,
        max_size: PositiveInt | None = None,
        batch_size: PositiveInt = 64,
        num_workers: NonNegativeInt = 0,
        max_train_pairs: PositiveInt | None = None,
        raw_dir: str | None = None,
        progress: bool = True,
        context_turns: PositiveInt = 1,
        direction: str = "forward",
    ):
        check_arguments(DialogueDataModule, locals(), "data")
        super().__init__()
        if direction not in DIRECTIONS:
            raise ConfigError(f"data.direction must be one of {DIRECTIONS}, got {direction!r}")
        if direction == "backward" and context_turns != 1:
            raise ConfigError("data.direction=backward models p(previous turn | response): set "
                             "data.context_turns=1")
        if corpus not in CORPORA:
            raise ConfigError(f"data.corpus must be one of {CORPORA}, got {corpus!r}")
        if corpus == "file" and not path:
            raise ConfigError("data.corpus=file needs data.path=<your pairs.tsv> (one 'context<TAB>response' "
                             "a line)")
        if seq_len is not None and seq_len != max_response_len + 1:
            raise ConfigError(f"data.seq_len={seq_len} must be data.max_response_len + 1 = "
                             f"{max_response_len + 1} "
                             "(the response plus <eos>); set both")
        if overlong not in ("truncate", "drop"):
            raise ConfigError(f"data.overlong must be 'truncate' or 'drop', got {overlong!r}")
        self.root = Path(os.path.expanduser(root))
        self.raw_dir = Path(os.path.expanduser(raw_dir)) if raw_dir else self.root / "raw"
        self.corpus, self.path, self.test_path = corpus, path, test_path
        self.level = ("char" if corpus == "chatterbot_zh" else "word") if tokenize == "auto" else tokenize
        self.lower = lower
        self.max_context_len, self.max_response_len = max_context_len, max_response_len
        self.overlong, self.context_eos = overlong, context_eos
        self.min_freq, self.max_size = min_freq, max_size
        self.batch_size, self.num_workers = batch_size, num_workers
        self.max_train_pairs, self.progress = max_train_pairs, progress
        self.context_turns, self.direction = context_turns, direction
        self.seq_len = max_response_len + 1
        self.context_len = max_context_len + int(context_eos)
        self.vocab: Vocabulary | None = None
        self.ids: dict[str, PairIds] = {}

    train_contexts_ids, train_responses_ids = _split_part("train", "contexts"), _split_part("train", "responses")
    val_contexts_ids, val_responses_ids = _split_part("val", "contexts"), _split_part("val", "responses")
    test_contexts_ids, test_responses_ids = _split_part("test", "contexts"), _split_part("test", "responses")

    # ----------------------------------------------------------------- files
    def split_files(self) -> dict[str, Path]:
        """The processed TSV of each split this corpus has (a single file means: split by hash)."""
        if self.corpus == "dailydialog":
            return {s: self.root / f"dailydialog_{s}.tsv" for s in ("train", "validation", "test")}
        if self.corpus == "file":
            files = {"all": Path(os.path.expanduser(self.path))}
            if self.test_path:
                files = {"train": files["all"], "test": Path(os.path.expanduser(self.test_path))}
            return files
        return {"all": self.root / f"{self.corpus}.tsv"}

    def prepare_data(self) -> None:
        """Download and process only what is missing (nothing when `root` holds the processed TSVs)."""
        if all(p.exists() for p in self.split_files().values()):
            return
        if self.corpus == "dailydialog":
            prepare_dailydialog(self.root, self.raw_dir, self.progress)
        elif self.corpus in CHATTERBOT_LANGUAGES:
            prepare_chatterbot(self.root, self.raw_dir, self.corpus, self.progress)
        # corpus=file: read_pairs reports the missing file

    def load_splits(self) -> dict[str, list[Pair]]:
        """Raw text pairs per split: train, test and (DailyDialog) validation."""
        files = self.split_files()
        splits = {name: read_pairs(p, built=self.corpus != "file") for name, p in files.items()}
        if "all" in splits:
            pairs = splits.pop("all")
            splits["train"] = [p for p in pairs if not is_test_by_hash(f"{p[0]}\t{p[1]}")]
            splits["test"] = [p for p in pairs if is_test_by_hash(f"{p[0]}\t{p[1]}")]
            if not splits["test"] or not splits["train"]:
                raise DataFileError(f"{files['all']} has too few pairs ({len(pairs)}) for a 90/10 train/test "
                                    "split; give data.test_path or more pairs")
        return splits

    def tokenize_text(self, text: str) -> list[str]:
        """One utterance as this data's tokens (words or characters, `lower`), without length limit."""
        return tokenize(text, self.level, self.lower)

    def _examples(self, pairs: list[Pair]) -> tuple[list[list[str]], list[list[str]]]:
        """(context, response) token lists of one split: the pairs' dialogues are rebuilt
        (`rebuild_dialogues`), every utterance after the first is a response, its context the previous
        `context_turns` utterances concatenated (oldest first); `direction=backward` swaps the two (the
        previous turn given the response). Length limits and `overlong` apply to the result."""
        contexts, responses = [], []
        for dialogue in rebuild_dialogues(pairs):
            turns = [self.tokenize_text(u) for u in dialogue]
            for i in range(1, len(turns)):
                ct = [t for turn in turns[max(0, i - self.context_turns): i] for t in turn]
                rt = turns[i]
                if self.direction == "backward":
                    ct, rt = rt, ct
                ct = fit_length(ct, self.max_context_len, self.overlong, keep="end")
                rt = fit_length(rt, self.max_response_len, self.overlong, keep="start")
                if ct is None or rt is None or not rt:
                    continue
                contexts.append(ct)
                responses.append(rt)
        return contexts, responses

    def setup(self, stage: str | None = None) -> None:
        if self.vocab is not None:
            return
        self.prepare_data()
        splits = self.load_splits()
        n = self.max_train_pairs
        tokenized = {name: self._examples(pairs) for name, pairs in splits.items()}
        if n is not None:
            c, r = tokenized["train"]
            tokenized["train"] = (c[:n], r[:n])
        # whole training dialogues (texts), e.g. start utterances for dialogue simulation
        self.train_dialogues = rebuild_dialogues(splits["train"][:n] if n is not None else splits["train"])
        train_c, train_r = tokenized["train"]
        if not train_r:
            raise DataFileError(f"no training pairs left after the length limits (overlong={self.overlong}); "
                                "raise data.max_context_len / data.max_response_len or use overlong=truncate")
        # the vocabulary of the single-turn pairs, whatever context_turns / direction: forward, backward and
        # multi-turn models of one corpus share it (so the fixed scorers of method=dialogue_rl fit the policy)
        single = self if (self.context_turns, self.direction) == (1, "forward") else self._single_turn()
        vocab_c, vocab_r = (train_c, train_r) if single is self else single._examples(splits["train"])
        vocab_c, vocab_r = vocab_c[:n], vocab_r[:n]
        self.vocab = Vocabulary.build(vocab_c + vocab_r, self.min_freq, self.max_size,
                                      separator="" if self.level == "char" else " ")
        self.ids = {"val" if name == "validation" else name:
                    PairIds(encode_padded(self.vocab, ctx, self.context_len, self.context_eos),
                            encode_padded(self.vocab, resp, self.seq_len, True))
                    for name, (ctx, resp) in tokenized.items()}
        self.ids.setdefault("val", self.ids["test"])
        self.test_contexts, self.test_responses = tokenized["test"]
        self.train_tokens, self.test_tokens = self.ids["train"].responses, self.ids["test"].responses

    def _single_turn(self) -> DialogueDataModule:
        """A copy of this datamodule's settings with `context_turns=1`, `direction=forward`."""
        other = copy.copy(self)
        other.context_turns, other.direction = 1, "forward"
        return other

    # ----------------------------------------------------------------- loaders
    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        return DataLoader(_PairDataset(*self.ids[split]), batch_size=self.batch_size, shuffle=shuffle,
                          num_workers=self.num_workers, collate_fn=collate_pairs)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
