"""`DialogueDataModule`: context -> response pairs for conditional (dialogue) generation.

Corpora (`corpus=`), their processed files under `root` (format: UTF-8, one `context<TAB>response` per
line), and how they are built when missing (the exact rules of `shared/data/dialogue/SOURCE.md`):

- `dailydialog` (default; Li et al., IJCNLP 2017; **CC BY-NC-SA 4.0, non-commercial**):
  `dailydialog_{train, validation,test}.tsv` from the official per-split zips (`dailydialog_pairs`): each
  line of `S/dialogues_S.txt` is a dialogue, utterances are separated by `__eou__`, whitespace is
  collapsed, and every two consecutive utterances are one pair (a single previous turn as the context).
  ~76k / 7k / 7k pairs.
- `chatterbot_en`, `chatterbot_zh` (BSD-3; tiny, for smoke tests): `chatterbot_{en,zh}.tsv` from the YAML
  files in the `chatterbot-corpus==1.3.3` wheel (`chatterbot_pairs`). Test split by `is_test_by_hash` of
  the pair.
- `file`: your own pairs, `path=some.tsv` (same TSV format; optional `test_path`, else the hash split).

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
import hashlib
import io
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from textgan.data.download import DataFileError, download, read_text, write_text_atomic
from textgan.data.tokenize import encode_padded, fit_length, is_test_by_hash, tokenize
from textgan.data.vocab import Vocabulary
from textgan.errors import ConfigError
from textgan.ranges import NonNegativeInt, PositiveInt, check_arguments

Pair = tuple[str, str]

# --------------------------------------------------------------------------- upstream manifests (SOURCE.md)
_DD_BASE = ("https://raw.githubusercontent.com/Ls-Dai/Deep-Reinforcement-Learning-for-Dialogue-Generation-in-"
            "PyTorch/bae51b16e3e8c0ce4ffd70b75ecfc40fbeb8e7ee/data/")
DAILYDIALOG_ZIPS = {  # split: (zip sha256, member inside the zip, member sha256)
    "train": ("6191257f8250da0e045bfd1d017645e15b2358df975ec4c5c431a5a1f99662a4", "train/dialogues_train.txt",
              "71633bd5fdb0b09dd82215b131b56432cf7329a0fe50bc8adec168713d350d1a"),
    "validation": ("f068cf7526a56ab5f26e99b74ce9edbc2766f7b060a3c6cef035920b0dd28153",
                   "validation/dialogues_validation.txt",
                   "2ad64701fe3a4449e7a6ee7cdc6c2a71c80f77b8a34f708ac0532395f499081c"),
    "test": ("5f9526a5ce4b8af4ca237aa3ff38cbf03becbc596c70b0974d7f5f9af2ea0615", "test/dialogues_test.txt",
             "3c323651cdfb09f7b529f850eddf96a638fc6cc9b43330b77956ab248484a1a8"),
}
CHATTERBOT_WHEEL = "chatterbot_corpus-1.3.3-py2.py3-none-any.whl"
CHATTERBOT_URL = f"https://files.pythonhosted.org/packages/py2.py3/c/chatterbot-corpus/{CHATTERBOT_WHEEL}"
CHATTERBOT_SHA256 = "86de5300afb9a80826386339d3bec79c0a72eb0358abb8327e2ecef5ae0ce154"
CHATTERBOT_LANGUAGES = {"chatterbot_en": "english", "chatterbot_zh": "chinese", "chatterbot_zh_hant":
                        "traditionalchinese"}
CORPORA = ("dailydialog", *CHATTERBOT_LANGUAGES, "file")
DIRECTIONS = ("forward", "backward")


# --------------------------------------------------------------------------- transformations (SOURCE.md)
def normalize_utterance(text: object) -> str:
    """Trim and collapse whitespace runs to one space (`" ".join(str(text).split())`)."""
    return " ".join(str(text).split())


def consecutive_pairs(utterances: Sequence[str]) -> list[Pair]:
    """`(u[i], u[i+1])` for i = 0 .. n-2."""
    return [(utterances[i], utterances[i + 1]) for i in range(len(utterances) - 1)]


def rebuild_dialogues(pairs: Sequence[Pair]) -> list[list[str]]:
    """Whole dialogues (utterance lists) from pairs in file order: the processed files hold the consecutive
    pairs `(u[i], u[i+1])` of each dialogue in order (`consecutive_pairs`), so pair k continues the dialogue
    of pair k-1 exactly when its context is pair k-1's response. `consecutive_pairs` of the result gives
    `pairs` back. (A dialogue whose first utterance equalled the previous dialogue's last one would be joined
    to it; on DailyDialog this rebuilds exactly SOURCE.md's 11,118 / 1,000 / 1,000 dialogues and 87,171 /
    8,069 / 7,740 utterances.)"""
    dialogues: list[list[str]] = []
    for i, (context, response) in enumerate(pairs):
        if i and context == pairs[i - 1][1]:
            dialogues[-1].append(response)
        else:
            dialogues.append([context, response])
    return dialogues


def dailydialog_pairs(text: str) -> list[Pair]:
    """Pairs of one DailyDialog `dialogues_S.txt`: one dialogue per non-blank line, utterances split on
    `__eou__`, whitespace normalized, empty pieces dropped, consecutive utterances paired. No dedup, no
    lower-casing."""
    pairs: list[Pair] = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        utterances = [u for u in (normalize_utterance(p) for p in line.split("__eou__")) if u]
        pairs.extend(consecutive_pairs(utterances))
    return pairs


def chatterbot_pairs(yaml_texts: Iterable[str]) -> list[Pair]:
    """Pairs of a ChatterBot language: `yaml_texts` are its `*.yml` files in sorted filename order. Entries of
    `conversations` that are not lists are skipped; utterances are normalized; empty ones dropped."""
    import yaml

    pairs: list[Pair] = []
    for text in yaml_texts:
        doc = yaml.safe_load(text) or {}
        for conv in doc.get("conversations") or []:
            if not isinstance(conv, list):
                continue
            utterances = [u for u in (normalize_utterance(x) for x in conv) if u]
            pairs.extend(consecutive_pairs(utterances))
    return pairs


def pairs_to_tsv(pairs: Iterable[Pair]) -> str:
    """`context\\tresponse\\n` per pair (fields must hold no TAB or newline; normalization guarantees it)."""
    return "".join(f"{c}\t{r}\n" for c, r in pairs)


def read_pairs(path: str | os.PathLike, built: bool = False) -> list[Pair]:
    """Pairs of a `context<TAB>response` file; a line without exactly one TAB is a `DataFileError` that
    names it (`built`: a file textgan processed, see `read_text`)."""
    pairs = []
    for i, line in enumerate(read_text(path, what="dialogue file", built=built).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataFileError(
                f"{path}, line {i}: expected 'context<TAB>response' (exactly one TAB), found "
                f"{len(fields) - 1} TABs: {line[:80]!r}. Fix that line or remove it."
            )
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise DataFileError(f"{path} holds no context<TAB>response pairs. Check the file.")
    return pairs


# --------------------------------------------------------------------------- building the processed files
def prepare_dailydialog(root: Path, raw_dir: Path, progress: bool = True) -> None:
    """Build the missing `dailydialog_<split>.tsv` under `root` from the verified upstream zips (cached in
    `raw_dir`)."""
    for split, (zip_sha, member, member_sha) in DAILYDIALOG_ZIPS.items():
        out = root / f"dailydialog_{split}.tsv"
        if out.exists():
            continue
        zpath = download(_DD_BASE + f"{split}.zip", raw_dir / f"dailydialog_{split}.zip", zip_sha, progress)
        try:
            with zipfile.ZipFile(zpath) as zf:
                data = zf.read(member)
        except (zipfile.BadZipFile, KeyError) as err:
            raise DataFileError(f"{zpath} is not the DailyDialog zip ({err}). Delete it and run again."
                                ) from err
        if hashlib.sha256(data).hexdigest() != member_sha:
            raise DataFileError(f"{member} inside {zpath} has the wrong sha256. Delete the zip and run "
                                "again.")
        write_text_atomic(out, pairs_to_tsv(dailydialog_pairs(data.decode("utf-8"))))


def prepare_chatterbot(root: Path, raw_dir: Path, name: str, progress: bool = True) -> None:
    """Build `<name>.tsv` (e.g. `chatterbot_en.tsv`) under `root` from the verified chatterbot wheel."""
    out = root / f"{name}.tsv"
    if out.exists():
        return
    wheel = download(CHATTERBOT_URL, raw_dir / CHATTERBOT_WHEEL, CHATTERBOT_SHA256, progress)
    prefix = f"chatterbot_corpus/data/{CHATTERBOT_LANGUAGES[name]}/"
    with zipfile.ZipFile(wheel) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith(prefix) and n.endswith(".yml")
                       and "/" not in n[len(prefix):])
        texts = [io.TextIOWrapper(zf.open(n), encoding="utf-8").read() for n in names]
    write_text_atomic(out, pairs_to_tsv(chatterbot_pairs(texts)))


# --------------------------------------------------------------------------- the datamodule
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

    Attributes after `setup()`: `vocab`, `seq_len`, `context_len`, `{train,val,test}_contexts_ids` /
    `{train,val,test}_responses_ids` (`[n, context_len]` / `[n, seq_len]` LongTensors), `test_contexts`,
    `test_responses` (lists of token lists, for BLEU), `train_tokens` / `test_tokens` (the response tensors).
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
        for name, (ctx, resp) in tokenized.items():
            key = "val" if name == "validation" else name
            setattr(self, f"{key}_contexts_ids",
                    encode_padded(self.vocab, ctx, self.context_len, self.context_eos))
            setattr(self, f"{key}_responses_ids", encode_padded(self.vocab, resp, self.seq_len, True))
        if "validation" not in tokenized:
            self.val_contexts_ids, self.val_responses_ids = self.test_contexts_ids, self.test_responses_ids
        self.test_contexts, self.test_responses = tokenized["test"]
        self.train_tokens, self.test_tokens = self.train_responses_ids, self.test_responses_ids

    def _single_turn(self) -> DialogueDataModule:
        """A copy of this datamodule's settings with `context_turns=1`, `direction=forward`."""
        other = copy.copy(self)
        other.context_turns, other.direction = 1, "forward"
        return other

    # ----------------------------------------------------------------- loaders
    def _loader(self, contexts: torch.Tensor, responses: torch.Tensor, shuffle: bool) -> DataLoader:
        return DataLoader(_PairDataset(contexts, responses), batch_size=self.batch_size, shuffle=shuffle,
                          num_workers=self.num_workers, collate_fn=collate_pairs)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_contexts_ids, self.train_responses_ids, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_contexts_ids, self.val_responses_ids, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_contexts_ids, self.test_responses_ids, shuffle=False)
