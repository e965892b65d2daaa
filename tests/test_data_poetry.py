"""Chinese quatrains: SOURCE.md's rules on hand-made upstream JSON, the published hashes, the datamodule."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import compose_config
from textgan.data import poetry
from textgan.data.poetry import ChinesePoetryDataModule, build_quatrains, poetry_outputs, vocab_tsv
from textgan.data.tokenize import is_test_by_hash

L1, L2, L3, L4 = "白日依山盡", "黃河入海流", "欲窮千里目", "更上一層樓"


def p(*paragraphs):
    return {"author": "x", "title": "t", "paragraphs": list(paragraphs)}


def test_quatrain_rules():
    good = p(f" {L1}，{L2}。", f"{L3}，{L4}。\n")
    poems = [
        good,
        p(f"{L1},{L2}.{L3}!{L4}?"),                       # ASCII separators, one paragraph
        p(f"{L1}，{L2}。"),                                # 2 clauses
        p(f"{L1}，{L2}。", f"{L3}，{L4}。", f"{L1}，{L2}。"),  # 6 clauses
        p(f"{L1}，{L2}。", f"{L3}，□上一層樓。"),            # non-Han glyph
        p(f"{L1}，{L2}。", f"{L3}，更上 層樓。"),            # internal space
        p(f"{L1}，{L2}。", f"{L3}，更上一層。"),             # 4 characters
        p(f"{L1}；{L2}：", f"{L3}、\U00020000上一層樓！"),   # CJK Ext. B is Han
        p(f"{L1}，{L2}。", f"{L3}，{L4}。"),                 # duplicate of the first
    ]
    assert build_quatrains(poems, 5) == [L1 + L2 + L3 + L4, L1 + L2 + L3 + "\U00020000上一層樓"]
    assert build_quatrains(poems, 7) == []
    seven = p("秦川雄帝宅函谷，壯皇居綺殿千尋。", "起離宮百雉餘連，甍遙接漢飛觀迥。")
    assert build_quatrains([seven], 7) == ["秦川雄帝宅函谷壯皇居綺殿千尋起離宮百雉餘連甍遙接漢飛觀迥"]
    assert build_quatrains([seven], 5) == []


def test_vocab_and_split_files():
    assert vocab_tsv(["乙甲甲", "乙丙"]) == "乙\t2\n甲\t2\n丙\t1\n"  # count desc, then code point (乙 < 甲)
    poems = [p(f"{L1}，{L2}。", f"{L3}，{L4}。"), p(f"{L4}，{L3}。", f"{L2}，{L1}。")]
    out = poetry_outputs(poems, variants=(5,))
    qs = [L1 + L2 + L3 + L4, L4 + L3 + L2 + L1]
    assert out["quatrains5.txt"] == qs[0] + "\n" + qs[1] + "\n"
    test = [q for q in qs if int.from_bytes(hashlib.sha256(q.encode()).digest()[:8], "big") % 10 == 0]
    assert out["quatrains5.test.txt"] == "".join(q + "\n" for q in test)
    assert out["quatrains5.train.txt"] == "".join(q + "\n" for q in qs if q not in test)


def test_manifest_is_in_processing_order():
    entries = poetry.upstream_manifest()
    names = [path.rsplit("/", 1)[1] for _, path in entries]
    assert len(entries) == 313 and names[0] == "poet.tang.0.json" and names[57] == "poet.tang.57000.json"
    assert names[10] == "poet.tang.10000.json" and names[58] == "poet.song.0.json"  # numeric, Tang first


def test_download_and_build(tmp_path, monkeypatch):
    up = tmp_path / "up" / "全唐诗"
    up.mkdir(parents=True)
    files = {"poet.tang.0.json": [p(f"{L1}，{L2}。", f"{L3}，{L4}。")],
             "poet.song.0.json": [p(f"{L4}，{L3}。", f"{L2}，{L1}。"), p(f"{L1}，{L2}。", f"{L3}，{L4}。")]}
    manifest = []
    for name, poems in files.items():
        (up / name).write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
        manifest.append((hashlib.sha256((up / name).read_bytes()).hexdigest(), f"全唐诗/{name}"))
    monkeypatch.setattr(poetry, "upstream_manifest", lambda: manifest)
    monkeypatch.setattr(poetry, "UPSTREAM_BASE", (tmp_path / "up").as_uri() + "/")
    root = tmp_path / "root"
    dm = ChinesePoetryDataModule(str(root), progress=False)
    dm.prepare_data()
    assert (root / "quatrains5.txt").read_text(encoding="utf-8").split() == [
        L1 + L2 + L3 + L4, L4 + L3 + L2 + L1]
    assert (root / "raw" / "全唐诗" / "poet.song.0.json").exists()


def test_reproduces_published_hashes(real_data_dir):
    """Upstream-format poems rebuilt from the shared quatrains5.txt (plus rejected and duplicate poems)
    give the four published five-character files byte for byte."""
    root = real_data_dir / "chinese_poetry"
    qs = (root / "quatrains5.txt").read_text(encoding="utf-8").split("\n")[:-1]
    poems = []
    for i, q in enumerate(qs):
        lines = [q[k * 5:(k + 1) * 5] for k in range(4)]
        poems.append(p(f" {lines[0]}，{lines[1]}。", f"{lines[2]}，{lines[3]}。 "))
        if i % 1000 == 0:
            rejected = [p(f"{lines[0]}，{lines[1]}。"), p(f"{lines[0]}（注），{lines[1]}。", "甲乙丙丁戊。")]
            poems += [poems[-1], *rejected]
    out = poetry_outputs(poems, variants=(5,))
    published = {"quatrains5.txt": "a054a68710dc9c043843a410b6fc2e97bc231d9ee1c0fe247245d4703054c38b",
                 "quatrains5.train.txt": "15b89f2068138b429dd7c2e3460570cb9b5516d72a94cf76177df0adb1e7069d",
                 "quatrains5.test.txt": "aada584197c18a3638ddae3d78e4786d98688a50d4051dbf187601a60fbd22da",
                 "vocab5.tsv": "68c3f91afca0b39aa9513f18a2ddb2ad83e7a9d5ff48a1b5a0f52b8cc4584daf"}
    for name, digest in published.items():
        assert hashlib.sha256(out[name].encode("utf-8")).hexdigest() == digest, name


def test_datamodule_on_shared_files(real_data_dir):
    dm = ChinesePoetryDataModule(str(real_data_dir / "chinese_poetry"), progress=False)
    dm.setup()
    assert dm.train_tokens.shape == (15168, 21) and dm.test_tokens.shape == (1674, 21)
    assert len(dm.vocab) == 4 + 6013  # specials + characters of the train split
    assert (dm.train_tokens[:, 20] == dm.vocab.eos_id).all()
    assert dm.vocab.separator == "" and len(dm.vocab.to_text(dm.test_tokens[0])) == 20
    assert all(is_test_by_hash("".join(r)) for r in dm.test_references[:50])
    assert len(dm.test_references) == 1674


def test_variant_sets_seq_len_and_errors(tmp_path):
    cfg = compose_config(["data=chinese_poetry", "data.variant=7"], tmp_path)
    assert cfg.data.seq_len == 29 and cfg.method.seq_len == 29 and cfg.optimized_metric == "val/bleu2"
    with pytest.raises(ValueError, match="seq_len=29"):
        ChinesePoetryDataModule(str(tmp_path), variant=7, seq_len=21)
    with pytest.raises(ValueError, match="5 or 7"):
        ChinesePoetryDataModule(str(tmp_path), variant=6)
