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
- `read_checkpoint(path)`: the one `torch.load` of a checkpoint (`weights_only=True`, on CPU); any failure is a
  one-line `CheckpointError`, never torch's advice to load with `weights_only=False`. The core reads a pretrained
  checkpoint through it, the run layer's `textgan.runs.checkpoint` builds on it.
- `weights_misfit(own, stored)`: the one explanation of weights that do not fit a model: the first missing or
  unexpected key, or the first key whose shapes differ, with both shapes.
- `plain_data_problem(value, where)`: what makes a value read from a file more than plain data (an object, or one
  of Hydra's instantiation keys `HYDRA_KEYS` at any depth).
- `handle(ex, prog)`: print the line on stderr (and into the log files Hydra opened), return the exit status;
  `None` for a bug or when `HYDRA_FULL_ERROR=1` asks for the full trace. Entry points (`run.py`, `generate`,
  `textgan.cli.chat`, `textgan.cli.report`) run inside `one_line_errors()` (or `run_with_one_line_errors`), which
  calls it and re-raises on `None`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO


class UserError(Exception):
    """A mistake of the user's, described in one line: the problem, then the fix."""

    exit_status: int = 2


class ConfigError(UserError, ValueError):
    """A configuration mistake, described in one line (key, problem, valid choices)."""


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be read or must not be trusted; the message is one line naming file and fix."""


# the keys `hydra.utils.instantiate` acts on: a value read from a file never holds them
HYDRA_KEYS = ("_target_", "_args_", "_partial_", "_recursive_", "_convert_")


def read_checkpoint(path: str | os.PathLike, mmap: bool = False) -> dict:
    """`torch.load(path, weights_only=True)` on CPU (`mmap`: tensors mapped, not read); any failure is a one-line
    `CheckpointError`."""
    import torch

    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except Exception as ex:  # truncated / garbage / pickled objects: UnpicklingError, RuntimeError, EOFError, ...
        kind = "holds objects other than tensors and plain data" if "weights_only" in str(ex).lower() else \
            "is truncated or not a checkpoint"
        raise CheckpointError(f"{path} {kind} ({type(ex).__name__}); textgan does not load it: use another "
                              f"checkpoint of the run (e.g. best.ckpt) or retrain") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path} is not a checkpoint (a {type(ckpt).__name__}, not a dict)")
    return ckpt


def _more(count: int) -> str:
    return f" (+{count} more)" if count else ""


def weights_misfit(own: Mapping[str, Any], stored: Mapping[str, Any]) -> str | None:
    """None when the tensors `stored` fit the state dict `own`; else what differs, first key first:
    `missing a.w (+2 more); unexpected b.w; a.b has shape [4, 3] in the checkpoint, [4, 2] here (+1 more)`."""
    missing = [k for k in own if k not in stored]
    unexpected = [k for k in stored if k not in own]
    shape = {k: list(getattr(v, "shape", ())) for k, v in stored.items()}
    shapes = [k for k in own if k in stored and list(own[k].shape) != shape[k]]
    if not (missing or unexpected or shapes):
        return None
    return _misfit(missing, unexpected, shapes and (shapes[0], shape[shapes[0]], list(own[shapes[0]].shape)),
                   len(shapes))


def _misfit(missing: list[str], unexpected: list[str], shape: tuple | None, shapes: int) -> str:
    return "; ".join(filter(None, [
        missing and f"missing {missing[0]}{_more(len(missing) - 1)}",
        unexpected and f"unexpected {unexpected[0]}{_more(len(unexpected) - 1)}",
        shape and f"{shape[0]} has shape {shape[1]} in the checkpoint, {shape[2]} here{_more(shapes - 1)}"]))


def plain_data_problem(value: Any, where: str) -> str | None:
    """None when `value` is plain data (None, bool, int, float, str, lists and string-keyed maps of those) with no
    `HYDRA_KEYS` at any depth; else what is not, e.g. `config.method.x holds '_target_'`."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return None
    if isinstance(value, (list, tuple)):
        return next(filter(None, (plain_data_problem(v, f"{where}[{i}]") for i, v in enumerate(value))), None)
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str) or k in HYDRA_KEYS:
                return f"{where} holds {k!r}"
            problem = plain_data_problem(v, f"{where}.{k}")
            if problem:
                return problem
        return None
    return f"{where} is a {type(value).__name__}, not plain data"


# OSError numbers that say "you cannot write there", whatever the file
_WRITE_ERRNOS = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
                 errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on device",
                 errno.EDQUOT: "disk quota exceeded"}
_STATE_DICT = re.compile(r"Error\(s\) in loading state_dict for (\w+)")
_SIZE_MISMATCH = re.compile(r"size mismatch for ([^:]+): copying a param with shape torch\.Size\(\[([^\]]*)\]\) "
                            r"from checkpoint, the shape in current model is torch\.Size\(\[([^\]]*)\]\)")


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _state_dict_message(text: str) -> str | None:
    """torch's `Error(s) in loading state_dict for X` in `weights_misfit`'s words."""
    m = _STATE_DICT.search(text)
    if not m:
        return None

    def keys(label: str) -> list[str]:
        found = re.search(label + r" key\(s\) in state_dict: ([^\n]*)", text)
        return [k.strip(' ".') for k in found.group(1).split(",")] if found else []

    sizes = _SIZE_MISMATCH.findall(text)
    shape = sizes and (sizes[0][0], f"[{sizes[0][1]}]", f"[{sizes[0][2]}]")
    what = _misfit(keys("Missing"), keys("Unexpected"), shape, len(sizes))
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


@contextlib.contextmanager
def one_line_errors(reraise: bool = False) -> Iterator[None]:
    """A user's mistake raised inside is one line on stderr (`handle`) and `sys.exit` with its status; a bug keeps
    its traceback, and so does every error when `reraise` (a sweep's launcher records its failed jobs)."""
    try:
        yield
    except Exception as ex:
        status = handle(ex)
        if status is None or reraise:
            raise
        sys.exit(status)


def run_with_one_line_errors(fn: Callable[..., int], *args: Any) -> int:
    """`fn(*args)`'s exit status; a user's mistake raised inside it is one line and its status (`handle`), a bug
    keeps its traceback."""
    try:
        with one_line_errors():
            return fn(*args)
    except SystemExit as ex:
        if ex.__context__ is None:
            raise  # `fn`'s own exit
        return ex.code
