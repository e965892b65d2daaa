"""Run directories: one per process, never shared, never taken over.

- **Unique names.** `conf/hydra/default.yaml` names run and sweep dirs `<time to the second>_${run_id:}`: `run_id`
  (an OmegaConf resolver registered when this module is imported) is 6 random hex digits drawn once per process,
  so two jobs started in the same second get different dirs (and a process's dirs all carry the same id).
  A sweep's job dirs are `${job_dirname:num,override_dirname}`: `<job number>_<its overrides>`, path-safe.
- **No take-over.** A dir that already holds a run (`.hydra/overrides.yaml`, `checkpoints/`, `csv/metrics.csv`) is
  refused before anything is written into it (`RunDirGuard`, a Hydra callback that runs before Hydra saves
  `.hydra/*`), unless the command resumes (`ckpt_path=...`) with the same overrides as the run it holds; `train()`
  then checks the stored signature (`claim_run_dir`): a different configuration, or a fresh start over a run's
  checkpoints, is refused too.
- **One process at a time.** `claim_run_dir` holds an exclusive `flock` on `<dir>/.textgan.lock` for the rest of
  the process (released by the kernel when the process dies, so a crashed run never blocks its resume).

Refusals raise `RunDirError`, whose message is one line naming the dir and the fix.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from textgan.errors import UserError, one_line_errors

RUN_ID = secrets.token_hex(3)  # drawn once per process: every dir this process names carries it
RUN_MARKERS = (".hydra/overrides.yaml", "checkpoints/run_config.json", "checkpoints/last.ckpt", "csv/metrics.csv")
LOCK_NAME = ".textgan.lock"
_held_locks: dict[str, int] = {}  # resolved dir -> open fd holding its flock (one per dir and process)

JOB_NAME_MAX = 120  # characters of a job dir name (file systems allow 255 bytes)
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]")  # a job name is one path component, shell-friendly: no / [ ] * ' " ...


def job_dirname(num: int | str, overrides: str = "") -> str:
    """A sweep job's dir name: `<num>_<overrides>` (Hydra's `hydra.job.override_dirname`, `key=value` joined by
    `,`), e.g. `0_method=mle,seed=1`; `<num>` alone without overrides. The number keeps names unique (an Optuna
    trial may repeat another's values); characters outside `[A-Za-z0-9._=,+-]` become `_` and a name longer than
    `JOB_NAME_MAX` is cut, both then end in 8 hex digits of the overrides' sha256 so that names stay distinct."""
    overrides = str(overrides or "")
    if not overrides:
        return str(num)
    safe = _UNSAFE.sub("_", overrides)
    name = f"{num}_{safe}"
    if safe != overrides or len(name) > JOB_NAME_MAX:
        digest = hashlib.sha256(overrides.encode()).hexdigest()[:8]
        name = f"{name[:JOB_NAME_MAX - 9]}_{digest}"
    return name


OmegaConf.register_new_resolver("run_id", lambda: RUN_ID, use_cache=True, replace=True)
OmegaConf.register_new_resolver("job_dirname", job_dirname, replace=True)


class RunDirError(UserError, ValueError):
    """A run dir that belongs to another run (or another process); the message names the dir and the fix."""


def holds_run(path: str | os.PathLike) -> list[str]:
    """The run files (of `RUN_MARKERS`) that `path` already holds."""
    path = Path(path)
    return [m for m in RUN_MARKERS if (path / m).exists()]


def _stored_overrides(path: Path) -> list[str] | None:
    import yaml

    try:
        return list(yaml.safe_load((path / ".hydra" / "overrides.yaml").read_text()) or [])
    except (OSError, ValueError, TypeError):
        return None


def _without_resume(overrides: list[str]) -> list[str]:
    return sorted(o for o in overrides if o.lstrip("+~").split("=", 1)[0] != "ckpt_path")


def _resumes(overrides: list[str]) -> bool:
    return any(o.lstrip("+").startswith("ckpt_path=") and o.split("=", 1)[1] not in ("", "null") for o in overrides)


def check_new_run_dir(path: str | os.PathLike, overrides: list[str]) -> None:
    """Before Hydra writes into `path`: refuse a dir holding a run unless this command resumes that same run
    (`ckpt_path=...` given, the same overrides otherwise)."""
    path = Path(path)
    found = holds_run(path)
    if not found:
        return
    if not _resumes(overrides):
        raise RunDirError(f"{path} already holds a run ({', '.join(found)}); a new run needs its own dir: drop "
                          f"hydra.run.dir (every run gets a fresh one) or resume that run with ckpt_path=last")
    stored = _stored_overrides(path)
    if stored is not None and _without_resume(stored) != _without_resume(overrides):
        differ = sorted(set(_without_resume(stored)) ^ set(_without_resume(overrides)))
        raise RunDirError(f"{path} holds a run with other settings (differing: {' '.join(differ)}); resume it "
                          f"with its own command line or give another hydra.run.dir")


def lock_run_dir(path: str | os.PathLike) -> None:
    """Hold an exclusive lock on `path` for the rest of this process; another live process holding it is an
    error. Idempotent within a process."""
    path = Path(path).resolve()
    if str(path) in _held_locks:
        return
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunDirError(f"{path} is in use by another running process; give this run its own dir (drop "
                          f"hydra.run.dir) or wait for that process to end") from None
    _held_locks[str(path)] = fd


def is_main_process() -> bool:
    """False in the extra processes of a data-parallel run (they share rank 0's run dir)."""
    for var in ("RANK", "LOCAL_RANK", "SLURM_PROCID"):
        if os.environ.get(var, "0") not in ("", "0"):
            return False
    return True


def claim_run_dir(path: str | os.PathLike, signature: dict, resume_ckpt: str | None) -> None:
    """Make `path` this run's dir before anything is written into it (rank 0 only): lock it, and refuse it when
    it holds a run of another configuration, or checkpoints of this configuration that this run would overwrite
    without resuming from them."""
    if not is_main_process():
        return
    path = Path(path)
    lock_run_dir(path)
    meta = path / "checkpoints" / "run_config.json"
    if not meta.exists():
        return
    try:
        stored = json.loads(meta.read_text())
    except (OSError, ValueError):
        stored = None
    if stored != signature:
        from textgan.runs.resume import signature_diff

        differ = signature_diff(stored, signature) if isinstance(stored, dict) else ["run_config.json unreadable"]
        raise RunDirError(f"{path} holds another run (it differs in {', '.join(differ[:5])}); give this run its own "
                          f"dir (drop hydra.run.dir / paths.output_dir)")
    resuming_here = resume_ckpt is not None and Path(resume_ckpt).resolve().is_relative_to(path.resolve())
    if not resuming_here and any((path / "checkpoints").glob("*.ckpt")):
        raise RunDirError(f"{path} holds checkpoints of this configuration that a fresh start would overwrite; "
                          f"resume it with ckpt_path=last or give this run its own dir")


def check_new_sweep_dir(sweep: Path, name: str, overrides: list[str]) -> None:
    """Before a sweep starts: `sweep_name` names one folder (`multirun/<sweep_name>/`), and a sweep dir whose jobs
    hold runs is refused unless the sweep resumes them (`ckpt_path=...`)."""
    if not name or _UNSAFE.search(name) or name in (".", ".."):
        raise RunDirError(f"sweep_name={name!r} must be one folder name of letters, digits and ._=,+- "
                          f"(e.g. sweep_name=methods_oracle)")
    jobs = [d for d in sweep.glob("*") if d.is_dir() and holds_run(d)] if sweep.is_dir() else []
    if jobs and not _resumes(overrides):
        raise RunDirError(f"{sweep} already holds the runs of a sweep ({len(jobs)} job dirs); a new sweep needs its "
                          f"own dir: drop hydra.sweep.dir, or resume those jobs with ckpt_path=last")


class RunDirGuard(Callback):
    """Hydra callback (`hydra.callbacks.run_dir_guard` in `conf/hydra/default.yaml`): checks the run / sweep dir
    before Hydra writes `.hydra/*` into it; a refusal is one line on stderr and exit status 2 (`one_line_errors`)."""

    @staticmethod
    def _pin(config: DictConfig, key: str) -> Path:
        """Resolve the dir once, in this process, and store it as plain text: a launcher that re-resolves the
        config in another process (submitit's workers) must land in the same dir, not draw a new `run_id`."""
        path = str(OmegaConf.select(config, key))
        node, leaf = key.rsplit(".", 1)
        with read_write(config), open_dict(config):
            OmegaConf.select(config, node)[leaf] = path
        return Path(path)

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        path = self._pin(config, "hydra.run.dir")
        if not is_main_process():
            return  # a data-parallel child process: it joins rank 0's run dir
        with one_line_errors():
            check_new_run_dir(path, list(config.hydra.overrides.task))
            lock_run_dir(path)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        with one_line_errors():
            check_new_sweep_dir(self._pin(config, "hydra.sweep.dir"), str(config.get("sweep_name") or ""),
                                list(config.hydra.overrides.task))
