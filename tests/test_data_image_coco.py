"""Image COCO captions: Texygen's tokens (against nltk), the vocabulary over train and test, seq_len, the held-out
set, the two BLEU protocols, the pinned files' sha256, and the real files' counts."""

from __future__ import annotations

import hashlib

import pytest
import torch

from tests.conftest import compose_config
from textgan.data import image_coco
from textgan.data.download import ChecksumError
from textgan.data.image_coco import ImageCocoDataModule, punkt_sentences, texygen_tokenize
from textgan.errors import ConfigError
from textgan.metrics.bleu import bleu_scores, self_bleu_scores
from textgan.metrics.objects import BLEU, SelfBLEU

TRAIN = ["A man rides a horse.", "two dogs play in the garage."]
TEST = ["a cat, on a mat.", "the man can't ride a zebra (or a horse) today!", "dogs play."]


def corpus(tmp_path, train=TRAIN, test=TEST):
    root = tmp_path / "image_coco"
    root.mkdir()
    (root / "image_coco.txt").write_text("\n".join(train), encoding="utf-8")  # no final newline, as upstream
    (root / "test_coco.txt").write_text("\n".join(test), encoding="utf-8")
    return root


@pytest.fixture
def unpinned(monkeypatch):
    """Hand-made files stand for the pinned ones: their sha256 is not checked."""
    monkeypatch.setattr(image_coco, "check_files", lambda root: None)


@pytest.mark.parametrize("line, tokens", [
    ("A man rides a horse.", ["a", "man", "rides", "a", "horse", "."]),
    ("the car's parked in the garage.", ["the", "car", "'s", "parked", "in", "the", "garage", "."]),
    ("a dog can't swim, cannot fly", ["a", "dog", "ca", "n't", "swim", ",", "can", "not", "fly"]),
    ('a sign that says "stop".', ["a", "sign", "that", "says", "``", "stop", "''", "."]),
    ("two men on a tarmac. .", ["two", "men", "on", "a", "tarmac", ".", "."]),   # Punkt: a second sentence
    ("a u.s. air force plane.", ["a", "u.s.", "air", "force", "plane", "."]),   # an abbreviation: one sentence
    ("a clock at 11:59. there is a rack", ["a", "clock", "at", "11:59.", "there", "is", "a", "rack"]),
    ("a cat lying i. the step", ["a", "cat", "lying", "i.", "the", "step"]),   # an initial before lower case
    ("do not use. sorry!", ["do", "not", "use", ".", "sorry", "!"]),
    ("skiing through the woods..", ["skiing", "through", "the", "woods", ".."]),
    ("a bathroom.with items", ["a", "bathroom.with", "items"]),
    ('a sign "experts only!". ', ["a", "sign", "``", "experts", "only", "!", "``", "."]),
    ("a sail(?) in the street", ["a", "sail", "(", "?", ")", "in", "the", "street"]),
    ("price: $5 & more; #1 @home", ["price", ":", "$", "5", "&", "more", ";", "#", "1", "@", "home"]),
])
def test_tokens_by_hand(line, tokens):
    """Hand-checked cases of nltk.word_tokenize(line.lower()), the corners this corpus has."""
    assert texygen_tokenize(line) == tokens


def test_sentences_by_hand():
    assert punkt_sentences("two boys outside during the day.  one of them skates.") == [
        "two boys outside during the day.", "one of them skates."]
    assert punkt_sentences("a sail(?) in the street") == ["a sail(?)", "in the street"]
    assert punkt_sentences("a u.s. plane at 5. the end") == ["a u.s. plane at 5. the end"]


def real_lines(root):
    return [line for name in ("image_coco.txt", "test_coco.txt")
            for line in (root / name).read_text(encoding="utf-8").split("\n")]


def test_tokens_equal_nltk_algorithm_on_the_real_files(real_data_dir):
    """nltk's own Punkt algorithm (with the English model's one abbreviation these files contain, `u.s`) and its
    NLTKWordTokenizer give the same tokens on all 20,000 captions; this needs no nltk data download."""
    nltk_punkt = pytest.importorskip("nltk.tokenize.punkt")
    from nltk.tokenize import NLTKWordTokenizer

    params = nltk_punkt.PunktParameters()
    params.abbrev_types = set(image_coco.PUNKT_ABBREVIATIONS)
    sentences, words = nltk_punkt.PunktSentenceTokenizer(params), NLTKWordTokenizer()
    lines = real_lines(real_data_dir / "image_coco")
    assert len(lines) == 20000
    for line in lines:
        low = line.lower()
        assert texygen_tokenize(line) == [w for s in sentences.tokenize(low) for w in words.tokenize(s)], line


def test_tokens_equal_nltk_word_tokenize_on_the_real_files(real_data_dir):
    """Texygen's call itself, `nltk.word_tokenize(line.lower())`, on all 20,000 captions (needs nltk's English
    Punkt model: `python -m nltk.downloader punkt_tab`)."""
    nltk = pytest.importorskip("nltk")
    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
    except LookupError:
        pytest.skip("nltk's English Punkt model is not installed (python -m nltk.downloader punkt_tab)")
    lines = real_lines(real_data_dir / "image_coco")
    assert len(lines) == 20000
    for line in lines:
        assert texygen_tokenize(line) == nltk.word_tokenize(line.lower()), line


def test_vocabulary_over_train_and_test_seq_len_and_held_out(tmp_path, unpinned):
    dm = ImageCocoDataModule(str(corpus(tmp_path)), progress=False)
    dm.setup()
    test_tokens = [texygen_tokenize(t) for t in TEST]
    words = {w for line in TRAIN + TEST for w in texygen_tokenize(line)}
    assert set(dm.vocab.itos) == words | {"<pad>", "<bos>", "<eos>", "<unk>"}  # "zebra" is only in test
    longest = max(len(t) for t in test_tokens)  # 14 tokens: the test split's second caption
    assert longest == 14 and dm.seq_len == 15 and dm.train_tokens.shape == (2, 15) and dm.test_tokens.shape == (3, 15)
    assert dm.test_references == test_tokens  # the held-out set and BLEU's references are the test captions
    assert dm.vocab.decode(dm.test_tokens[1].tolist()) == test_tokens[1]
    assert (dm.test_tokens != dm.vocab.unk_id).all()
    assert dm.test_tokens[2].tolist()[:4] == [*dm.vocab.encode(["dogs", "play", "."]), dm.vocab.eos_id]

    train_only = ImageCocoDataModule(str(tmp_path / "image_coco"), vocab_over_test=False, progress=False)
    train_only.setup()
    assert "zebra" not in train_only.vocab.stoi and "horse" in train_only.vocab.stoi
    assert (train_only.test_tokens == train_only.vocab.unk_id).any()


def test_seq_len_too_short_is_one_line(tmp_path, unpinned):
    dm = ImageCocoDataModule(str(corpus(tmp_path)), seq_len=10, progress=False)
    too_short = r"data.seq_len=10 is shorter than the longest caption \(14 tokens \+ <eos> = 15\); set data.seq_len=15"
    with pytest.raises(ConfigError, match=too_short):
        dm.setup()
    with pytest.raises(ConfigError, match="data.lower is fixed"):
        ImageCocoDataModule(str(tmp_path), lower=True)


def test_texygen500_uses_exactly_the_first_500_references():
    refs = [[f"w{i}", f"w{i + 1}", "x"] for i in range(600)]
    vocab_words = sorted({w for r in refs for w in r})
    from textgan.data.vocab import Vocabulary

    v = Vocabulary.build([vocab_words])
    hyps = [["w550", "w551", "x"], ["w10", "w11", "x"]]  # the first matches reference 550 only
    samples = torch.tensor([v.encode(h, add_eos=True) for h in hyps])
    metric = BLEU(v, refs, ns=(2,), num_references=500, suffix="_texygen500")
    metric.update(samples)
    assert metric.compute() == {"bleu2_texygen500": bleu_scores(hyps, refs[:500], (2,))[2]}
    full = BLEU(v, refs, ns=(2,))
    full.update(samples)
    assert full.compute() == {"bleu2": 1.0} != metric.compute()
    selfb = SelfBLEU(v, ns=(2,), num_samples=1, suffix="_texygen500")
    selfb.update(samples)
    assert selfb.compute() == {}  # one sample has no others
    selfb = SelfBLEU(v, ns=(2,), num_samples=2, suffix="_texygen500")
    selfb.update(samples)
    assert selfb.compute() == {"self_bleu2_texygen500": self_bleu_scores(hyps, (2,))[2]}


def test_sha256_mismatch_is_one_line(tmp_path):
    root = corpus(tmp_path)
    dm = ImageCocoDataModule(str(root), progress=False)
    with pytest.raises(ChecksumError) as err:
        dm.setup()
    message = str(err.value)
    assert "\n" not in message and "image_coco.txt" in message and "delete it" in message
    assert image_coco.FILES["image_coco.txt"][1] in message


def test_missing_files_are_downloaded_and_verified(tmp_path, monkeypatch):
    up = tmp_path / "up"
    (up / "data" / "testdata").mkdir(parents=True)
    (up / "data" / "image_coco.txt").write_text("\n".join(TRAIN), encoding="utf-8")
    (up / "data" / "testdata" / "test_coco.txt").write_text("\n".join(TEST), encoding="utf-8")
    files = {name: (rel, hashlib.sha256((up / rel).read_bytes()).hexdigest())
             for name, (rel, _) in image_coco.FILES.items()}
    monkeypatch.setattr(image_coco, "FILES", files)
    monkeypatch.setattr(image_coco, "UPSTREAM_BASE", up.as_uri() + "/")
    dm = ImageCocoDataModule(str(tmp_path / "root"), progress=False)
    dm.setup()
    assert (tmp_path / "root" / "test_coco.txt").read_text(encoding="utf-8") == "\n".join(TEST)
    assert len(dm.test_references) == 3
    (up / "data" / "image_coco.txt").write_text("tampered", encoding="utf-8")
    (tmp_path / "root" / "image_coco.txt").unlink()
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        ImageCocoDataModule(str(tmp_path / "root"), progress=False).setup()


def test_real_files_load_with_the_published_counts(real_data_dir):
    dm = ImageCocoDataModule(str(real_data_dir / "image_coco"), progress=False)
    dm.setup()
    assert dm.train_tokens.shape == (10000, 38) and dm.test_tokens.shape == (10000, 38)
    assert len(dm.test_references) == 10000 and dm.seq_len == 38  # 37 tokens + <eos>
    assert len(dm.vocab) == 4 + 6575  # specials + word types of train and test together
    train_only = ImageCocoDataModule(str(real_data_dir / "image_coco"), vocab_over_test=False, progress=False)
    train_only.setup()
    assert len(train_only.vocab) == 4 + 4655


def test_config_composes(tmp_path):
    cfg = compose_config(["data=image_coco"], tmp_path)
    assert cfg.data.seq_len == 38 and cfg.method.seq_len == 38 and cfg.optimized_metric == "val/bleu2"
    assert cfg.metrics.bleu_texygen500.num_references == 500 and cfg.metrics.bleu.get("num_references") is None
    assert cfg.metrics.self_bleu_texygen500.num_samples == 500 and cfg.metrics.nll_test is not None
