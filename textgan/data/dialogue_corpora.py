"""The dialogue corpora: where their context -> response pairs come from and how the processed files are built.

Processed files (format: UTF-8, one `context<TAB>response` per line) are built when missing by the exact
rules of `shared/data/dialogue/SOURCE.md`:

- `dailydialog` (Li et al., IJCNLP 2017; **CC BY-NC-SA 4.0, non-commercial**): `dailydialog_{train,
  validation,test}.tsv` from the official per-split zips (`prepare_dailydialog`, `dailydialog_pairs`): each line
  of `S/dialogues_S.txt` is a dialogue, utterances are separated by `__eou__`, whitespace is collapsed, and
  every two consecutive utterances are one pair (a single previous turn as the context).
- `chatterbot_en`, `chatterbot_zh` (BSD-3; tiny, for smoke tests): `chatterbot_{en,zh}.tsv` from the YAML
  files in the `chatterbot-corpus==1.3.3` wheel (`prepare_chatterbot`, `chatterbot_pairs`).
- `file`: the user's own pairs in the same format (`read_pairs` reads every corpus).

`rebuild_dialogues` chains a file's pairs back into whole dialogues. Every download is verified by sha256
(`textgan.data.download`). `textgan.data.dialogue.DialogueDataModule` turns the pairs into batches.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from textgan.data.download import DataFileError, download, read_text, write_text_atomic

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
