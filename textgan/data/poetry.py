"""`ChinesePoetryDataModule`: classical Chinese quatrains (绝句), the real-text benchmark of SeqGAN
(Yu et al. 2017, sec. 5.2, Table 2), one poem = 4 lines of `variant` (5 or 7) characters, character tokens.

The corpus is rebuilt from chinese-poetry/chinese-poetry (MIT; the poems are public domain; traditional
characters) by the exact rules of `shared/data/chinese_poetry/SOURCE.md`, implemented here:

1. files in order: `poet.tang.N.json` by ascending N, then `poet.song.N.json`; poems in array order;
2. each paragraph is `strip()`ped and split at `，。！？；：、,.!?;:`; empty pieces dropped;
3. a poem is kept iff it has exactly 4 clauses of exactly L Han characters (CJK ranges below);
4. the poem string is the 4 clauses concatenated (4·L characters, no separator);
5. exact duplicates are removed (first occurrence kept); no Unicode normalization;
6. test split: `is_test_by_hash(poem)` (first 8 sha256 bytes, big-endian, mod 10 == 0);
7. `vocabL.tsv`: `char<TAB>count` by count descending, then code point.

Files under `root`: `quatrainsL.txt`, `quatrainsL.{train,test}.txt`, `vocabL.tsv` (16,842 / 15,168 / 1,674
five-character poems). When they are missing, the 313 upstream JSON files (135 MB) are downloaded to
`raw_dir`, each verified against `manifests/chinese_poetry.sha256`, and the files are built.

Sequences: the 4·L characters, then `<eos>` (`seq_len = 4·L + 1`), no padding needed.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from textgan.data.download import DataFileError, download, read_text, write_text_atomic
from textgan.data.text_file import LinesDataModule, read_lines
from textgan.data.tokenize import is_test_by_hash
from textgan.errors import ConfigError
from textgan.ranges import PositiveInt, check_arguments

UPSTREAM_BASE = ("https://raw.githubusercontent.com/chinese-poetry/chinese-poetry/"
                 "99ebbef7e1345c0985c44b9fd96a3f9e776f117b/")
MANIFEST = Path(__file__).parent / "manifests" / "chinese_poetry.sha256"
CLAUSE_SEPARATORS = re.compile("[，。！？；：、,.!?;:]")
HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF))
HAN_RUN = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in HAN_RANGES) + "]*")
VARIANTS = (5, 7)


def is_han(ch: str) -> bool:
    """A Han ideograph in U+3400–4DBF, U+4E00–9FFF, U+F900–FAFF or U+20000–2FFFF."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in HAN_RANGES)


def poem_clauses(paragraphs: Iterable[str]) -> list[str]:
    """All clauses of a poem: each paragraph stripped and split at the 14 separators, empty pieces dropped."""
    return [c for para in paragraphs for c in CLAUSE_SEPARATORS.split(str(para).strip()) if c]


def quatrain(paragraphs: Iterable[str], line_len: int) -> str | None:
    """The poem string (4·`line_len` characters) if the poem is a quatrain of `line_len`-character lines of
    Han characters only, else None."""
    clauses = poem_clauses(paragraphs)
    if len(clauses) != 4 or any(len(c) != line_len or not HAN_RUN.fullmatch(c) for c in clauses):
        return None
    return "".join(clauses)


def build_quatrains(poems: Iterable[dict], line_len: int) -> list[str]:
    """Unique quatrains (first occurrence kept, in order) of `poems` (upstream JSON objects, in processing
    order)."""
    seen: set[str] = set()
    out = []
    for poem in poems:
        q = quatrain(poem.get("paragraphs") or [], line_len)
        if q is not None and q not in seen:
            seen.add(q)
            out.append(q)
    return out


def lines_text(lines: Iterable[str]) -> str:
    """One item per line, `\\n` after each (also the last)."""
    return "".join(f"{line}\n" for line in lines)


def vocab_tsv(poems: Iterable[str]) -> str:
    """`char<TAB>count` lines, by count descending then code point ascending."""
    counts = Counter(ch for p in poems for ch in p)
    return lines_text(f"{ch}\t{n}" for ch, n in sorted(counts.items(), key=lambda kv: (-kv[1], ord(kv[0]))))


def poetry_outputs(poems: Iterable[dict], variants: Iterable[int] = VARIANTS) -> dict[str, str]:
    """Every output file's text (name -> content) from the upstream poems in processing order."""
    poems = list(poems)
    files = {}
    for n in variants:
        qs = build_quatrains(poems, n)
        files[f"quatrains{n}.txt"] = lines_text(qs)
        files[f"quatrains{n}.train.txt"] = lines_text(q for q in qs if not is_test_by_hash(q))
        files[f"quatrains{n}.test.txt"] = lines_text(q for q in qs if is_test_by_hash(q))
        files[f"vocab{n}.tsv"] = vocab_tsv(qs)
    return files


def upstream_manifest() -> list[tuple[str, str]]:
    """(sha256, path in the repository) of the 313 upstream files, in processing order."""
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    entries = [line.split(None, 1) for line in lines if line.strip()]

    def order(entry: list[str]) -> tuple[int, int]:
        m = re.search(r"poet\.(tang|song)\.(\d+)\.json$", entry[1])
        return (0 if m.group(1) == "tang" else 1, int(m.group(2)))

    return [(h, p.strip()) for h, p in sorted(entries, key=order)]


def read_upstream_json(path: Path) -> list[dict]:
    """One upstream file's poems, or a `DataFileError` naming the file."""
    try:
        poems = json.loads(read_text(path, what="upstream poetry file", built=True))
    except json.JSONDecodeError as err:
        raise DataFileError(f"{path} is not valid JSON ({err}). Delete it so that it is downloaded again."
                            ) from err
    if not isinstance(poems, list):
        raise DataFileError(f"{path} should hold a JSON array of poems. Delete it so that it is downloaded "
                            "again.")
    return poems


def prepare_poetry(root: Path, raw_dir: Path, progress: bool = True) -> None:
    """Download (verified, cached) the upstream JSON files and write every output file under `root`."""
    poems: list[dict] = []
    for digest, rel in upstream_manifest():
        dest = raw_dir / rel
        poems.extend(read_upstream_json(download(UPSTREAM_BASE + urllib.parse.quote(rel), dest, digest,
                                                 progress)))
    for name, text in poetry_outputs(poems).items():
        write_text_atomic(root / name, text)


class ChinesePoetryDataModule(LinesDataModule):
    """Quatrains of `variant`-character lines as `[batch, 4·variant + 1]` character ids (module docstring).

    Args:
        root: folder with (or for) the processed files; `raw_dir` (default `<root>/raw`) caches downloads.
        variant: 5 (五绝, SeqGAN's setting) or 7 (七绝).
        seq_len: must be `4·variant + 1` (the config derives it from `variant`).
    """

    def __init__(self, root: str, variant: int = 5, seq_len: PositiveInt | None = None, raw_dir: str | None = None,
                 progress: bool = True, seq_len_of_variant: dict | None = None, **kwargs):
        check_arguments(ChinesePoetryDataModule, locals(), "data")
        if variant not in VARIANTS:
            raise ConfigError(f"data.variant must be 5 or 7 (characters per line), got {variant!r}")
        expected = 4 * variant + 1
        if seq_len is not None and seq_len != expected:
            raise ConfigError(f"data.seq_len={seq_len} but {variant}-character quatrains need "
                             f"seq_len={expected} "
                             f"(4 lines x {variant} characters + <eos>)")
        kwargs.setdefault("tokenize", "char")
        super().__init__(seq_len=expected, **kwargs)
        self.variant = variant
        self.root = Path(os.path.expanduser(root))
        self.raw_dir = Path(os.path.expanduser(raw_dir)) if raw_dir else self.root / "raw"
        self.progress = progress

    def split_files(self) -> tuple[Path, Path]:
        stem = self.root / f"quatrains{self.variant}"
        return stem.with_name(stem.name + ".train.txt"), stem.with_name(stem.name + ".test.txt")

    def prepare_data(self) -> None:
        if not all(p.exists() for p in self.split_files()):
            prepare_poetry(self.root, self.raw_dir, self.progress)

    def load_splits(self) -> tuple[list[str], list[str]]:
        train, test = (read_lines(p, built=True) for p in self.split_files())
        n = 4 * self.variant
        for path, lines in zip(self.split_files(), (train, test)):
            bad = next((i for i, line in enumerate(lines) if len(line) != n), None)
            if bad is not None:
                raise DataFileError(f"{path}, line {bad + 1}: a quatrain has {n} characters, this line has "
                                    f"{len(lines[bad])}. Delete the processed files under {self.root} to "
                                    "rebuild them.")
        return train, test
