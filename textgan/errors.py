"""The one place that turns a user's mistake into one line: `error: <problem>; <fix>`, exit status != 0, no
traceback.

- `UserError`: the base of every mistake textgan describes itself (`ConfigError`, `DataFileError`,
  `VocabularyMismatchError`, `NonFiniteError`, the command-line errors of `generate`, `chat` and `report`).
  Its message is the line; `exit_status` is 2 (a mistake in what was asked) unless a subclass says otherwise
  (`NonFiniteError`: 1, the run itself failed).
- `user_message(ex)`: the line for a user error, including mistakes other libraries report in their own words: a
  checkpoint whose weights belong to another method or model (torch's `Error(s) in loading state_dict`), an
  output folder that is read-only or full (`OSError`), a missing mandatory config value, and any of these wrapped
  by `hydra.utils.instantiate`. Anything else is a bug: `None`, and the traceback is kept.
- `handle(ex, prog)`: print the line on stderr (and into the log files Hydra opened), return the exit status;
  `None` for a bug or when `HYDRA_FULL_ERROR=1` asks for the full trace. Entry points (`run.py`, `generate`,
  `textgan.cli.chat`, `textgan.cli.report`) call it in their `except` clause and re-raise on `None`.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO


class UserError(Exception):
    """A mistake of the user's, described in one line: the problem, then the fix."""

    exit_status: int = 2


class ConfigError(UserError, ValueError):
    """A configuration mistake, described in one line (key, problem, valid choices)."""


# OSError numbers that say "you cannot write there", whatever the file
_WRITE_ERRNOS = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                 errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on device",
                 errno.EDQUOT: "disk quota exceeded"}
_STATE_DICT = re.compile(r"Error\(s\) in loading state_dict for (\w+)")


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _state_dict_message(text: str) -> str | None:
    m = _STATE_DICT.search(text)
    if not m:
        return None
    missing = re.search(r"Missing key\(s\) in state_dict: ([^\n]*)", text)
    unexpected = re.search(r"Unexpected key\(s\) in state_dict: ([^\n]*)", text)
    shapes = "size mismatch" in text

    def first(found) -> str:
        keys = [k.strip(' ".') for k in found.group(1).split(",")] if found else []
        return ", ".join(keys[:3]) + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")

    what = "; ".join(filter(None, [missing and f"missing {first(missing)}",
                                   unexpected and f"unexpected {first(unexpected)}",
                                   shapes and "tensor shapes differ"]))
    return (f"the checkpoint's weights do not fit {m.group(1)} ({what}): it was written by another method or model; "
            "load it with the method=/model= (and model sizes) it was trained with, or start without ckpt_path")


def _os_message(ex: OSError) -> str | None:
    problem = _WRITE_ERRNOS.get(ex.errno)
    if problem is None:
        return None
    where = f"cannot write {ex.filename}" if ex.filename else "cannot write"
    fix = ("free some disk space or write elsewhere" if ex.errno in (errno.ENOSPC, errno.EDQUOT)
           else "choose a folder you can write to")
    return f"{where}: {problem}; {fix} (hydra.run.dir=..., paths.output_dir=..., out=...)"


def user_message(ex: BaseException) -> str | None:
    """The one line for a user's mistake (without the `error: ` prefix); None when `ex` is a bug."""
    from hydra.errors import InstantiationException
    from omegaconf.errors import MissingMandatoryValue

    if isinstance(ex, UserError):
        return _one_line(ex)
    if isinstance(ex, InstantiationException) and ex.__cause__ is not None:
        return user_message(ex.__cause__)  # a constructor's own error, wrapped by hydra.utils.instantiate
    if isinstance(ex, MissingMandatoryValue):
        key = getattr(ex, "full_key", None) or "a value"
        return f"{key} is required (it is ??? in the config); give it on the command line: {key}=..."
    if isinstance(ex, RuntimeError):
        return _state_dict_message(str(ex))
    if isinstance(ex, OSError):
        return _os_message(ex)
    return None


def exit_status(ex: BaseException) -> int:
    """`exit_status` of the `UserError` behind `ex` (also when wrapped), else 2."""
    while not isinstance(ex, UserError) and ex.__cause__ is not None:
        ex = ex.__cause__
    return ex.exit_status if isinstance(ex, UserError) else 2


def _to_log_files(line: str) -> None:
    """The line also goes into the log files of the run (Hydra's `<job>.log`), not to the console twice."""
    record = logging.LogRecord("textgan", logging.ERROR, __file__, 0, line, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def handle(ex: BaseException, stream: TextIO | None = None) -> int | None:
    """Print `error: <line>` for a user's mistake and return the exit status; None (re-raise) for a bug or
    when `HYDRA_FULL_ERROR=1`."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        return None
    message = user_message(ex)
    if message is None:
        return None
    line = f"error: {message}"
    print(line, file=stream or sys.stderr, flush=True)
    _to_log_files(line)
    return exit_status(ex)


def run_with_one_line_errors(fn: Callable[..., int], *args: Any) -> int:
    """`fn(*args)`'s exit status; a user's mistake raised inside it is one line and its status (`handle`), a bug
    keeps its traceback."""
    try:
        return fn(*args)
    except Exception as ex:
        status = handle(ex)
        if status is None:
            raise
        return status
