"""Vocabulary: construction order, encode/decode, persistence, mismatch errors."""

import pytest

from textgan.data.vocab import Vocabulary, VocabularyMismatchError


def test_build_orders_by_frequency_then_token():
    v = Vocabulary.build([list("abcab"), list("ba")], min_freq=1)
    assert v.itos == ["<pad>", "<bos>", "<eos>", "<unk>", "a", "b", "c"]
    assert (v.pad_id, v.bos_id, v.eos_id, v.unk_id) == (0, 1, 2, 3)
    assert Vocabulary.build([list("abcab")], min_freq=2).itos[4:] == ["a", "b"]
    assert Vocabulary.build([list("abcab")], max_size=1).itos[4:] == ["a"]


def test_encode_decode_roundtrip_with_unk_and_eos():
    v = Vocabulary.build([["hello", "world"]])
    ids = v.encode(["hello", "moon"], add_eos=True)
    assert ids == [v.stoi["hello"], v.unk_id, v.eos_id]
    assert v.decode(ids + [v.pad_id]) == ["hello", "<unk>"]
    assert v.to_text([v.stoi["world"], v.stoi["hello"], v.eos_id, v.stoi["world"]]) == "world hello"


def test_no_specials_vocabulary():
    v = Vocabulary([str(i) for i in range(5)], specials=())
    assert v.pad_id is None and v.eos_id is None
    with pytest.raises(KeyError, match="no <unk>"):
        v.encode(["7"])


def test_save_load_and_mismatch(tmp_path):
    v = Vocabulary.build([list("晨光照")], separator="")
    v.save(tmp_path / "vocab.json")
    w = Vocabulary.load(tmp_path / "vocab.json")
    assert w == v and w.separator == ""
    v.check_same(w)
    other = Vocabulary.build([list("晨光照月")], separator="")
    with pytest.raises(VocabularyMismatchError, match="sizes differ"):
        v.check_same(other)


def test_empty_corpus_is_a_clear_error():
    with pytest.raises(ValueError, match="empty corpus"):
        Vocabulary.build([[], []])
