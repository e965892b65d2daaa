"""download.py: verified, cached, atomic downloads and readable errors for bad corpus files."""

from __future__ import annotations

import hashlib

import pytest

from textgan.data.download import ChecksumError, DataFileError, DownloadError, download, read_text


def test_download_verifies_caches_and_renames(tmp_path):
    src = tmp_path / "upstream.txt"
    src.write_bytes(b"hello corpus\n")
    digest = hashlib.sha256(b"hello corpus\n").hexdigest()
    dest = tmp_path / "cache" / "file.txt"
    assert download(src.as_uri(), dest, digest, progress=False) == dest
    assert dest.read_bytes() == b"hello corpus\n"
    assert not (tmp_path / "cache" / "file.txt.part").exists()
    src.unlink()  # cached: the source is not read again
    assert download(src.as_uri(), dest, digest, progress=False).read_bytes() == b"hello corpus\n"


def test_sha_mismatch_names_file_and_leaves_nothing(tmp_path):
    src = tmp_path / "upstream.txt"
    src.write_bytes(b"tampered")
    dest = tmp_path / "cache" / "file.txt"
    with pytest.raises(ChecksumError, match=r"sha256 mismatch for .*file\.txt.*Delete it"):
        download(src.as_uri(), dest, "0" * 64, progress=False)
    assert not dest.exists() and not dest.with_name("file.txt.part").exists()


def test_no_network_or_missing_url_says_what_to_do(tmp_path):
    dest = tmp_path / "file.txt"
    with pytest.raises(DownloadError, match=r"could not download .*put it at .*file\.txt"):
        download((tmp_path / "nowhere.txt").as_uri(), dest, None, progress=False)


def test_read_text_errors(tmp_path):
    with pytest.raises(DataFileError, match=r"missing\.txt does not exist"):
        read_text(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    with pytest.raises(DataFileError, match=r"empty\.txt is empty"):
        read_text(empty)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("ok\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataFileError, match=r"latin\.txt is not valid utf-8 \(byte 6, line 2"):
        read_text(latin)
    assert read_text(latin, encoding="latin-1") == "ok\ncaf\u00e9\n"
