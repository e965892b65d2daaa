"""Fetch upstream files once, verify them, and read corpus files with errors that say what to do.

- `download(url, dest, sha256)`: a cached, verified download. The bytes go to `<dest>.part` with a tqdm
  progress bar (an interrupted download resumes from the `.part` file when the server supports HTTP
  ranges), are checked against `sha256`, then renamed atomically to `dest`, so a reader never sees half a
  file. A `dest` that already exists with the right sha256 is not downloaded again.
- `sha256_file(path)`, `verify_sha256(path, expected)`, `write_text_atomic(path, text)`.
- `read_text(path)`: a corpus file as text; a missing, empty or mis-encoded file is a `DataFileError`
  naming the file and the fix.

`file://` URLs work too (tests use them; a user can point a manifest at a local mirror)."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from textgan.errors import UserError

CHUNK = 1 << 16


class DataFileError(UserError, RuntimeError):
    """A corpus file is missing, empty, corrupt or not in the expected encoding."""


class ChecksumError(DataFileError):
    """A file's sha256 is not the published one."""


class DownloadError(DataFileError):
    """A file could not be downloaded (no network, server error, missing URL)."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (read in chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str, what: str = "") -> None:
    """Raise `ChecksumError` unless `path`'s sha256 is `expected`."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ChecksumError(
            f"sha256 mismatch for {path}{f' ({what})' if what else ''}: expected {expected}, got {actual}. "
            "The file is corrupt, truncated or a different version. Delete it and run again to re-download "
            "it, or place the correct file there by hand."
        )


def download(url: str, dest: str | os.PathLike, sha256: str | None = None, progress: bool = True,
             timeout: float = 60.0) -> Path:
    """Download `url` to `dest` (cached, verified, atomic); return `dest`.

    Args:
        url: http(s):// or file:// URL.
        dest: final path. If it exists and matches `sha256`, nothing is downloaded.
        sha256: expected hex digest (None skips the check; every corpus manifest in textgan gives one).
        progress: show a tqdm progress bar.
        timeout: seconds for the connection and each read.
    """
    dest = Path(dest)
    if dest.exists():
        if sha256 is None or sha256_file(dest) == sha256.lower():
            return dest
        dest.unlink()  # a stale or corrupt cached copy: fetch it again
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "textgan"})
    if start and url.startswith(("http://", "https://")):
        request.add_header("Range", f"bytes={start}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = getattr(response, "status", None)
            if start and status != 206:  # the server ignored the range: start over
                start = 0
            length = response.headers.get("Content-Length")
            total = int(length) + start if length is not None else None
            with open(part, "ab" if start else "wb") as out, tqdm(
                total=total, initial=start, unit="B", unit_scale=True, desc=dest.name, disable=not progress,
                leave=False,
            ) as bar:
                for chunk in iter(lambda: response.read(CHUNK), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(
            f"could not download {url} to {dest}: {reason}. If this machine has no network, download the "
            f"file elsewhere and put it at {dest} (or set data.root / TEXTGAN_DATA to a folder that already "
            "holds the processed corpus files)."
        ) from err
    if sha256 is not None:
        try:
            verify_sha256(part, sha256, what=f"downloaded from {url}")
        except ChecksumError:
            part.unlink(missing_ok=True)  # do not resume from bad bytes
            raise
    os.replace(part, dest)
    return dest


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 `text` to `path` via a temp file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(text.encode("utf-8"))
    os.replace(tmp, path)


def read_text(path: str | os.PathLike, encoding: str = "utf-8", what: str = "corpus file",
              allow_empty: bool = False, built: bool = False) -> str:
    """Text of `path`, or a `DataFileError` that names the file and the fix when it is missing, empty, holds NUL
    bytes (a binary or UTF-16 file) or is not valid `encoding`. `built`: textgan built the file (downloaded or
    processed it), so deleting it rebuilds it; a user's own file (`data.path`, `input=`) is never to be
    deleted, and the fix says how to repair it instead."""
    path = Path(path)
    rebuild = " or delete it so that it is rebuilt" if built else ""
    if not path.is_file():
        if built:
            raise DataFileError(
                f"{what} {path} does not exist. Check data.root (or TEXTGAN_DATA), or delete the folder's "
                "processed files so that they are rebuilt from the upstream download."
            )
        raise DataFileError(f"{what} {path} does not exist; check the path (a relative one starts from "
                            f"{Path.cwd()})")
    data = path.read_bytes()
    if not data.strip() and not allow_empty:
        raise DataFileError(f"{what} {path} is empty; " + ("delete it so that it is rebuilt" if built else
                                                            "give a file with one example per line"))
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        raise DataFileError(f"{what} {path} holds NUL bytes (byte {nul}, line {line}): it is a binary file or "
                            f"not {encoding} text (UTF-16?); re-save it as {encoding} text{rebuild}")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataFileError(
            f"{what} {path} is not valid {encoding} (byte {err.start}, line {line}: "
            f"{data[err.start:err.start + 8]!r}); re-save it as {encoding} (e.g. "
            f"`iconv -f latin1 -t utf-8 in > out`){rebuild}"
        ) from None
