"""Character-level English text and the user's own text file: SOURCE.md rules, published hash, batches."""

from __future__ import annotations

import hashlib
import re

import pytest

from textgan.data import char_text
from textgan.data.char_text import SENTENCE_BOUNDARY, CharTextDataModule, gutenberg_sentences
from textgan.data.download import DataFileError
from textgan.data.text_file import TextFileDataModule


def test_gutenberg_rules():
    raw = ("[Emma by Jane Austen 1816]\r\n\r\nVOLUME I\r\n\r\nCHAPTER I\r\n\r\n"
           "Mr. Woodhouse  sat. He said \"Yes.\" Then\r\nshe left! (And St. Paul? no.) Dr. Who came.\r\n"
           "   \r\n" "Caf\xe9 au lait? Yes. i. fine.\r\n").encode("latin-1")
    assert gutenberg_sentences(raw) == [
        "Mr. Woodhouse sat.", 'He said "Yes."', "Then she left!", "(And St. Paul? no.)", "Dr. Who came.",
        "Caf\u00e9 au lait?", "Yes. i. fine."]


def reconstruct(sentences):
    """Upstream-format text (title + paragraphs) whose transformation gives back `sentences`."""
    lower = re.compile("[a-z]")

    def splits_back(group):
        return [s for s in SENTENCE_BOUNDARY.split(" ".join(group)) if s] == group

    groups, pending = [], []
    for s in sentences:
        if not lower.search(s):  # a paragraph without lowercase is skipped: put it with a neighbour
            if groups and splits_back(groups[-1] + [s]):
                groups[-1].append(s)
            else:
                pending.append(s)
            continue
        groups.append(pending + [s])
        pending = []
    assert not pending
    wrapped = ["\r\n".join(" ".join(g).split(" ", 3)) for g in groups]  # line breaks inside paragraphs
    return ("[Title]\r\n\r\n" + "\r\n\r\n".join(wrapped) + "\r\n").encode("latin-1")


def test_reproduces_published_hash(real_data_dir):
    text = (real_data_dir / "char_text" / "gutenberg_sentences.txt").read_text(encoding="utf-8")
    sentences = text.split("\n")[:-1]
    out = "".join(s + "\n" for s in gutenberg_sentences(reconstruct(sentences)))
    assert hashlib.sha256(out.encode()).hexdigest() == (
        "9d409a5ab27f6506a77df28de05427bb3f212545392b4eb9fd65ada2364f6845")


def test_download_and_build(tmp_path, monkeypatch):
    up = tmp_path / "up"
    up.mkdir()
    files = []
    for i, name in enumerate(["a.txt", "b.txt"]):
        (up / name).write_bytes(f"[T]\n\nBook {i} begins. It ends.\n".encode("latin-1"))
        files.append((name, hashlib.sha256((up / name).read_bytes()).hexdigest()))
    monkeypatch.setattr(char_text, "GUTENBERG_FILES", tuple(files))
    monkeypatch.setattr(char_text, "_NLTK", up.as_uri() + "/")
    dm = CharTextDataModule(str(tmp_path / "root"), progress=False)
    dm.prepare_data()
    assert dm.file.read_text() == "Book 0 begins.\nIt ends.\nBook 1 begins.\nIt ends.\n"


def test_char_text_on_shared_files(real_data_dir):
    dm = CharTextDataModule(str(real_data_dir / "char_text"), seq_len=32, progress=False)
    dm.setup()
    n = dm.train_tokens.shape[0] + dm.test_tokens.shape[0]
    assert n == 35758 and dm.train_tokens.shape[1] == 32
    assert 0.08 < dm.test_tokens.shape[0] / n < 0.12
    v = dm.vocab
    assert len(v) <= 4 + 91 and v.separator == ""
    long_row = next(r for r in dm.train_tokens if r[-1] != v.pad_id)  # a truncated line: 31 chars + <eos>
    assert long_row[-1] == v.eos_id and len(v.to_text(long_row)) == 31
    wgan = CharTextDataModule(str(real_data_dir / "char_text"), corpus="tinyshakespeare", add_eos=False,
                              max_train_examples=100, max_test_examples=10, progress=False)
    wgan.setup()
    assert wgan.train_tokens.shape == (100, 32) and wgan.vocab.eos_id not in wgan.train_tokens.tolist()[0]


def test_text_file_word_and_char(tmp_path):
    corpus = tmp_path / "mine.txt"
    corpus.write_text("the cat sat\n\nthe dog ran far away today\n", encoding="utf-8")
    test = tmp_path / "test.txt"
    test.write_text("the cow sat\n", encoding="utf-8")
    dm = TextFileDataModule(str(corpus), test_path=str(test), tokenize="word", seq_len=4)
    dm.setup()
    v = dm.vocab
    assert dm.train_tokens.tolist() == [
        [v.stoi["the"], v.stoi["cat"], v.stoi["sat"], v.eos_id],
        [v.stoi["the"], v.stoi["dog"], v.stoi["ran"], v.eos_id]]      # truncated to 3 words + <eos>
    assert dm.test_tokens.tolist() == [[v.stoi["the"], v.unk_id, v.stoi["sat"], v.eos_id]]
    assert dm.test_references == [["the", "cow", "sat"]]
    chars = TextFileDataModule(str(corpus), test_path=str(test), tokenize="char", seq_len=12, overlong="drop")
    chars.setup()  # "the cat sat" = 11 characters + <eos> fits; the long line is dropped
    assert chars.train_tokens.shape == (1, 12) and chars.vocab.to_text(chars.train_tokens[0]) == "the cat sat"
    assert chars.vocab.to_text(chars.test_tokens[0]) == "the c<unk><unk> sat"


def test_text_file_errors(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        TextFileDataModule(str(tmp_path / "nope.txt"), seq_len=8).setup()
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok line\n\xff\xfe broken\n")
    with pytest.raises(DataFileError, match=r"bad\.txt is not valid utf-8 .*line 2"):
        TextFileDataModule(str(bad), seq_len=8).setup()
    one = tmp_path / "one.txt"
    one.write_text("just one line\n")
    with pytest.raises(DataFileError, match="both splits need examples"):
        TextFileDataModule(str(one), seq_len=8).setup()


def test_run_logs_bleu_self_bleu_and_perplexity(tmp_path):
    """`experiment=smoke_mle data=text_file ...` trains, evaluates and logs the BLEU family under stable names."""
    import csv

    from tests.conftest import compose_config
    from textgan.runs.train import train

    corpus = tmp_path / "corpus.txt"
    rng = __import__("random").Random(0)
    words = "the a cat dog sat ran on under mat log".split()
    lines = [" ".join(rng.choices(words, k=rng.randint(3, 7))) for _ in range(300)]
    corpus.write_text("\n".join(lines) + "\n")
    cfg = compose_config(["experiment=smoke_mle", "data=text_file", f"data.path={corpus}", "data.seq_len=8",
                          "metrics.bleu.ns=[2,3]", "metrics.self_bleu.ns=[2]"], tmp_path / "run")
    assert cfg.optimized_metric == "val/nll_test"
    train(cfg)
    rows = list(csv.DictReader(open(next((tmp_path / "run").rglob("metrics.csv")))))
    logged = {k for row in rows for k, v in row.items() if v}
    expected = {"val/bleu2", "val/bleu3", "val/self_bleu2", "val/nll_test", "val/perplexity", "test/bleu2"}
    assert expected <= logged
    assert "val/bleu4" not in logged
    bleu2 = [float(r["val/bleu2"]) for r in rows if r.get("val/bleu2")]
    assert all(0.0 <= b <= 1.0 for b in bleu2)
