"""`ImageCocoDataModule`: Image COCO captions, the real-text benchmark of Texygen (Zhu et al., SIGIR 2018), reused
unchanged by RelGAN (Nie et al., ICLR 2019), LeakGAN's COCO experiments and TextGAN-PyTorch.

Files under `root`: `image_coco.txt` (10,000 training captions) and `test_coco.txt` (10,000 test captions), one
lower-case caption a line, Texygen's files at commit 3104e22 byte for byte. When they are missing they are
downloaded from that commit (`FILES`: URL and sha256) and verified; a file present with another sha256 is refused.

The protocol of the published numbers (Texygen `utils/text_process.py`), implemented here:

- tokens: `texygen_tokenize(line)`, equal to `nltk.word_tokenize(line.lower())` on these captions (the dev suite
  checks all 20,000 lines) in plain Python, so that nltk is not needed at run time;
- vocabulary: built over the training AND the test captions (`vocab_over_test=True`), about 4,682 word types,
  so no test word is `<unk>`. This is Texygen's protocol and what its published BLEU and NLL-test assume; it
  leaks the test split's word list (not its sentences) into the model: the generator's softmax has a slot for
  every test word, and NLL-test scores no `<unk>`. `vocab_over_test=False` builds it from the training captions
  only (test words absent there become `<unk>`), the cleaner setting whose numbers are not comparable;
- `seq_len`: the longest caption (of either split) plus `<eos>`; Texygen pads to the longest caption and has no
  `<eos>` (its padding code ends a sentence);
- held-out data: the 10,000 test captions are NLL-test's held-out set and BLEU's references
  (`test_references`); which BLEU protocol (all 10,000 references or Texygen's first 500) is the `metrics:`
  config's (`conf/metrics/image_coco.yaml`, `textgan.metrics.objects.BLEU`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from textgan.data.download import ChecksumError, download, sha256_file
from textgan.data.text_file import LinesDataModule, read_lines
from textgan.data.tokenize import encode_padded
from textgan.data.vocab import Vocabulary
from textgan.errors import ConfigError
from textgan.ranges import PositiveInt, check_arguments

UPSTREAM_BASE = "https://raw.githubusercontent.com/geek-ai/Texygen/3104e22/"
# local name -> (path in the upstream repository, sha256)
FILES = {
    "image_coco.txt": ("data/image_coco.txt", "2c0fd1f0f43aac6a9dc3926a535516ccf395de535e15ac1fd17cd569420736f5"),
    "test_coco.txt": ("data/testdata/test_coco.txt",
                      "72e25c9fb4d2cd43182ac602c92f6ffc377762147f9709572943b0b09174bcae"),
}
TRAIN_FILE, TEST_FILE = "image_coco.txt", "test_coco.txt"

# --- nltk.word_tokenize, in two steps: Punkt's sentence boundaries, then NLTKWordTokenizer per sentence ---------
# Sentence boundaries as the English Punkt model places them in lower-case text: after a word ending in `.` (not
# `..`, not an abbreviation of the model, not an initial or a number before a lower-case word, which Punkt reads
# as an abbreviation), and after `?` / `!` followed by space or by closing punctuation (a closing run that reaches
# the word's end stays with the sentence it closes).
PUNKT_ABBREVIATIONS = frozenset({"u.s"})  # the English Punkt model's abbreviations that occur in these captions
_NUMBER_OR_INITIAL = re.compile(r"(?:^|\W)(?:[^\W\d]|-?[.,]?\d[\d,.-]*)\.$")
_SENTENCE_END_MARK = re.compile(r"[?!](?=[?!)\";}\]*:@'({\[]|\s)")
_CLOSING_RUN = re.compile(r"[\"')\]}]+$")


def _sentence_ends(text: str) -> list[int]:
    """Offsets in `text` (lower-case) where Punkt ends a sentence, before the text's end (see above)."""
    ends = []
    for m in re.finditer(r"\S+", text):
        word, start, stop = m.group(), m.start(), m.end()
        for mark in _SENTENCE_END_MARK.finditer(word):
            cut = start + mark.end()
            rest = word[mark.end():]
            if rest and _CLOSING_RUN.fullmatch(rest):
                cut = stop
            if text[cut:].strip():
                ends.append(cut)
        if (word.endswith(".") and not word.endswith("..") and text[stop:].strip()
                and word[:-1] not in PUNKT_ABBREVIATIONS and not _NUMBER_OR_INITIAL.search(word)):
            ends.append(stop)
    return sorted(set(ends))


def punkt_sentences(text: str) -> list[str]:
    """`text` (lower-case captions) cut into sentences as `nltk.sent_tokenize` cuts it, each stripped."""
    cuts = [0, *_sentence_ends(text), len(text)]
    return [s for a, b in zip(cuts, cuts[1:]) if (s := text[a:b].strip())]


_STARTING_QUOTES = [
    (re.compile("([«“‘„]|[`]+)"), r" \1 "),
    (re.compile(r"^\""), r"``"),
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r"([ \(\[{<])(\"|\'{2})"), r"\1 `` "),
    (re.compile(r"(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)"), r"\1 "),
]
_PUNCTUATION = [
    (re.compile(r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*)\s*$"), r"\1 \2 \3 "),
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.{2,}"), r" \g<0> "),
    (re.compile(r"[;@#$%&]"), r" \g<0> "),
    (re.compile("[\u2012-\u2015]"), r" \g<0> "),
    (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 "),
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
    (re.compile(r"[*]"), r" \g<0> "),
]
_BRACKETS = (re.compile(r"[\]\[\(\)\{\}\<\>]"), r" \g<0> ")
_DOUBLE_DASH = (re.compile(r"--"), r" -- ")
_ENDING_QUOTES = [
    (re.compile("([»”’])"), r" \1 "),
    (re.compile(r"''"), " '' "),
    (re.compile(r'"'), " '' "),
    (re.compile(r"\s+"), " "),
    (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
]
_CONTRACTIONS = [re.compile(p) for p in (
    r"(?i)\b(can)(?#X)(not)\b", r"(?i)\b(d)(?#X)('ye)\b", r"(?i)\b(gim)(?#X)(me)\b", r"(?i)\b(gon)(?#X)(na)\b",
    r"(?i)\b(got)(?#X)(ta)\b", r"(?i)\b(lem)(?#X)(me)\b", r"(?i)\b(more)(?#X)('n)\b", r"(?i)\b(wan)(?#X)(na)(?=\s)",
    r"(?i) ('t)(?#X)(is)\b", r"(?i) ('t)(?#X)(was)\b")]


def treebank_words(sentence: str) -> list[str]:
    """The words of one sentence by the rules of nltk's `NLTKWordTokenizer` (the improved Penn Treebank
    tokenizer): punctuation split off, a period only at the sentence's end, `"` as `` `` `` / `''`, clitics
    (`n't`, `'s`) and `cannot` split."""
    text = sentence
    for regexp, sub in _STARTING_QUOTES + _PUNCTUATION + [_BRACKETS, _DOUBLE_DASH]:
        text = regexp.sub(sub, text)
    text = f" {text} "
    for regexp, sub in _ENDING_QUOTES:
        text = regexp.sub(sub, text)
    for regexp in _CONTRACTIONS:
        text = regexp.sub(r" \1 \2 ", text)
    return text.split()


def texygen_tokenize(line: str) -> list[str]:
    """Texygen's tokens of one caption: `nltk.word_tokenize(line.lower())`, e.g. "A cat, on a mat." ->
    `["a", "cat", ",", "on", "a", "mat", "."]`."""
    return [w for s in punkt_sentences(line.lower()) for w in treebank_words(s)]


def check_files(root: Path) -> None:
    """Each present corpus file has its published sha256, else one line naming it and the fix."""
    for name, (rel, digest) in FILES.items():
        path = root / name
        if path.is_file() and sha256_file(path) != digest:
            raise ChecksumError(f"{path} has sha256 {sha256_file(path)}, not Texygen's {digest} ({rel} at commit "
                                "3104e22): it is another version of the file; delete it so that it is downloaded "
                                "again, or put the published file there")


class ImageCocoDataModule(LinesDataModule):
    """Image COCO captions as `[batch, seq_len]` word ids: tokens, `<eos>`, `<pad>` (module docstring).

    Args:
        root: folder with (or for) `image_coco.txt` and `test_coco.txt`; missing files are downloaded there.
        vocab_over_test: build the vocabulary over train and test captions, Texygen's protocol (module
            docstring: what it leaks); False: over the training captions only.
        seq_len: None derives it (the longest caption + `<eos>`); a given value must hold every caption.
        min_freq, max_size: the vocabulary's cut (Texygen keeps every word: 1, None).
    """

    def __init__(self, root: str, vocab_over_test: bool = True, seq_len: PositiveInt | None = None,
                 progress: bool = True, **kwargs):
        check_arguments(ImageCocoDataModule, locals(), "data")
        for key in ("tokenize", "lower", "overlong", "add_eos"):
            if key in kwargs:
                raise ConfigError(f"data.{key} is fixed by the Image COCO protocol (Texygen's tokens, <eos>, no "
                                  "truncation); remove it")
        # seq_len=None is derived in setup() from the captions; the base class only needs a placeholder here
        super().__init__(seq_len=seq_len or 2, tokenize="word", overlong="drop", **kwargs)
        self.seq_len = seq_len
        self.root = Path(os.path.expanduser(root))
        self.vocab_over_test, self.progress = vocab_over_test, progress

    def split_files(self) -> tuple[Path, Path]:
        return self.root / TRAIN_FILE, self.root / TEST_FILE

    def prepare_data(self) -> None:
        check_files(self.root)
        for name, (rel, digest) in FILES.items():
            if not (self.root / name).is_file():
                download(UPSTREAM_BASE + rel, self.root / name, digest, self.progress)

    def load_splits(self) -> tuple[list[str], list[str]]:
        return tuple(read_lines(p, built=True) for p in self.split_files())

    def setup(self, stage: str | None = None) -> None:
        if self.vocab is not None:
            return
        self.prepare_data()
        train_lines, test_lines = self.load_splits()
        train = [texygen_tokenize(line) for line in train_lines][: self.max_train_examples]
        test = [texygen_tokenize(line) for line in test_lines][: self.max_test_examples]
        longest = max(len(t) for t in train + test) + 1
        if self.seq_len is None:
            self.seq_len = longest
        elif self.seq_len < longest:
            raise ConfigError(f"data.seq_len={self.seq_len} is shorter than the longest caption ({longest - 1} "
                              f"tokens + <eos> = {longest}); set data.seq_len={longest} or null")
        self.vocab = Vocabulary.build(train + test if self.vocab_over_test else train, self.min_freq,
                                      self.max_size)
        self.train_tokens = encode_padded(self.vocab, train, self.seq_len, True)
        self.test_tokens = encode_padded(self.vocab, test, self.seq_len, True)
        self.test_references = test
