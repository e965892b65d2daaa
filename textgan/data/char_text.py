"""`CharTextDataModule`: English sentences as characters, for character-level models (WGAN-GP's language
experiment, Gulrajani et al. 2017, sec. 5: lines cut to 32 characters and padded).

Corpora (`corpus=`), public-domain texts rebuilt by the exact rules of `shared/data/char_text/SOURCE.md`:

- `gutenberg` (default): `gutenberg_sentences.txt`, one prose sentence per line (35,758) from 7 Project
  Gutenberg books in NLTK's corpus (Austen, Chesterton, Melville), built by `gutenberg_sentences`: Latin-1
  decode, CRLF -> LF, drop the title line, paragraphs = runs of non-blank lines joined by a space and
  whitespace-normalized, paragraphs without `[a-z]` skipped, sentences split by `SENTENCE_BOUNDARY`.
- `tinyshakespeare`: karpathy's char-rnn file, byte for byte; one example per non-blank line.

Test split: `is_test_by_hash(line)` (about 10%). Each line keeps its first `seq_len - 1` characters, then
`<eos>` and `<pad>` (`add_eos=false`: `seq_len` characters and `<pad>`, exactly WGAN-GP's 32-character
lines).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from textgan.data.download import download, write_text_atomic
from textgan.data.text_file import LinesDataModule, read_lines
from textgan.data.tokenize import is_test_by_hash
from textgan.errors import ConfigError
from textgan.ranges import PositiveInt, check_arguments

_NLTK = ("https://raw.githubusercontent.com/nltk/nltk/4dc39fbf6965509f7b74316eff239bd110a03b49/"
         "nltk_data/corpora/gutenberg/")
GUTENBERG_FILES = (  # processing order, sha256 of the upstream file
    ("austen-emma.txt", "71b0923d75fcf2f1faa897b22da8de8e2476d7478a2b22388eb58a3420e00215"),
    ("austen-persuasion.txt", "cec097657cbfeb62aafe178973f514fa07ab66a5e28ea025ebd5d51ca870e40f"),
    ("austen-sense.txt", "57b169c7cfa502896dee25bd66616f61cc1d21084caf31f015176ee46fda9718"),
    ("chesterton-ball.txt", "c6b6d4e8c09a3f49a09f37f4e47663d4d6f048b62d86c70ccafdfd8f27059a58"),
    ("chesterton-brown.txt", "67027976205b4b30e367c704807f56c8ffac3e8ea6037d993e57ab1fe28447ec"),
    ("chesterton-thursday.txt", "8b431a2a8db84089cd6f83fa66610c3b12c04114609df6e90137c0c58f2c5493"),
    ("melville-moby_dick.txt", "dc2466ee3c2e6e2ea1f86233d142e4b5578fdc1d6f0ca657bee7572202a980c7"),
)
SHAKESPEARE_URL = ("https://raw.githubusercontent.com/karpathy/char-rnn/"
                   "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt")
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
OUTPUT_FILES = {"gutenberg": "gutenberg_sentences.txt", "tinyshakespeare": "tinyshakespeare.txt"}
SENTENCE_BOUNDARY = re.compile(
    r"""(?:(?<=[.!?])|(?<=[.!?]["')]))(?<!\bMr\.)(?<!\bMrs\.)(?<!\bDr\.)(?<!\bSt\.) +(?=["'(]?[A-Z])""")
_LOWER = re.compile("[a-z]")


def gutenberg_sentences(raw: bytes) -> list[str]:
    """Sentences of one upstream Gutenberg file (bytes), by SOURCE.md's rules (module docstring)."""
    lines = raw.decode("latin-1").replace("\r\n", "\n").split("\n")[1:]
    sentences, paragraph = [], []
    for line in [*lines, ""]:
        if line.strip():
            paragraph.append(line)
            continue
        if paragraph:
            text = " ".join(" ".join(paragraph).split())
            if _LOWER.search(text):
                sentences.extend(s for s in SENTENCE_BOUNDARY.split(text) if s)
            paragraph = []
    return sentences


def prepare_char_text(root: Path, raw_dir: Path, corpus: str, progress: bool = True) -> None:
    """Download (verified, cached in `raw_dir`) and build `root/<output file>` of `corpus`."""
    if corpus == "tinyshakespeare":
        src = download(SHAKESPEARE_URL, raw_dir / "tinyshakespeare_input.txt", SHAKESPEARE_SHA256, progress)
        write_text_atomic(root / OUTPUT_FILES[corpus], src.read_bytes().decode("utf-8"))
        return
    sentences = []
    for name, digest in GUTENBERG_FILES:
        path = download(_NLTK + name, raw_dir / name, digest, progress)
        sentences += gutenberg_sentences(path.read_bytes())
    write_text_atomic(root / OUTPUT_FILES[corpus], "".join(f"{s}\n" for s in sentences))


class CharTextDataModule(LinesDataModule):
    """Character-level English lines as `[batch, seq_len]` ids (see the module docstring).

    Args:
        root: folder with (or for) the processed file; `raw_dir` (default `<root>/raw`) caches downloads.
        corpus: `gutenberg` or `tinyshakespeare`.
        seq_len: characters per example, `<eos>` included when `add_eos` (WGAN-GP: 32).
    """

    def __init__(self, root: str, corpus: str = "gutenberg", seq_len: PositiveInt = 32, raw_dir: str | None = None,
                 progress: bool = True, **kwargs):
        check_arguments(CharTextDataModule, locals(), "data")
        if corpus not in OUTPUT_FILES:
            raise ConfigError(f"data.corpus must be one of {tuple(OUTPUT_FILES)}, got {corpus!r}")
        kwargs.setdefault("tokenize", "char")
        super().__init__(seq_len=seq_len, **kwargs)
        self.corpus = corpus
        self.root = Path(os.path.expanduser(root))
        self.raw_dir = Path(os.path.expanduser(raw_dir)) if raw_dir else self.root / "raw"
        self.progress = progress

    @property
    def file(self) -> Path:
        return self.root / OUTPUT_FILES[self.corpus]

    def prepare_data(self) -> None:
        if not self.file.exists():
            prepare_char_text(self.root, self.raw_dir, self.corpus, self.progress)

    def load_splits(self) -> tuple[list[str], list[str]]:
        lines = read_lines(self.file, built=True)
        return [ln for ln in lines if not is_test_by_hash(ln)], [ln for ln in lines if is_test_by_hash(ln)]
