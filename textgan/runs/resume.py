"""`ckpt_path=last`: which earlier run this one continues, and from which of its checkpoints.

- **Same computation.** A run's `resume_signature` is its resolved config minus what does not change what is
  computed: paths, loggers, the progress bar and model summary, logging frequency, thread count, and callbacks
  that only observe (checkpointing, samples, progress, signal handling, a user's own). What stays: method, model,
  data, seed, `eval_every`, `test`, the objective, the whole `trainer` node otherwise (limits, precision,
  devices/strategy, accumulation, clipping, max epochs, ...), and the callbacks in `TRAINING_CALLBACKS` (they alter
  training: the NaN guard's skip action, early stopping, SWA, ...). `train()` writes it to
  `checkpoints/run_config.json`; `ckpt_path=last` resumes the newest run dir next to this one whose file is equal.
- **A good checkpoint.** Each candidate is load-checked (`weights_only=True`); a truncated or garbage `last.ckpt`
  falls back to `last.prev.ckpt` (the previous one, kept by `AtomicCheckpointIO`), then to older matching runs,
  with a one-line warning naming the bad file.
- **Said out loud.** The log names the checkpoint resumed, its epoch and step, and why it matched (or, when none
  matched, how the newest run next to this one differs).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from textgan.errors import ConfigError
from textgan.runs.checkpoint import CheckpointError, previous_checkpoint, probe_checkpoint

log = logging.getLogger(__name__)

IGNORED_KEYS = ("paths", "sweep_name", "ckpt_path", "logger", "num_threads", "keep_freed_memory", "hydra")
IGNORED_TRAINER_KEYS = ("default_root_dir", "enable_progress_bar", "enable_model_summary", "log_every_n_steps",
                        "logger", "enable_checkpointing", "profiler", "barebones")
IGNORED_CALLBACK_KEYS = ("dirpath", "verbose")
# callbacks that change what training computes (their settings are part of the signature); any other callback
# only observes (checkpoints, samples, progress bar, signal handling) and is ignored
TRAINING_CALLBACKS = frozenset({
    "textgan.runs.callbacks.faults.NaNGuard",
    *(f"pytorch_lightning.callbacks.{name}" for name in (
        "EarlyStopping", "StochasticWeightAveraging", "GradientAccumulationScheduler", "BackboneFinetuning",
        "ModelPruning", "BatchSizeFinder", "LearningRateFinder", "Timer")),
    "pytorch_lightning.callbacks.early_stopping.EarlyStopping",
    "pytorch_lightning.callbacks.stochastic_weight_avg.StochasticWeightAveraging",
})


def resume_signature(run_config: dict) -> dict:
    """The part of a resolved run config that decides what the run computes (compared by `ckpt_path=last`)."""
    sig = {k: v for k, v in run_config.items() if k not in IGNORED_KEYS and k not in ("trainer", "callbacks")}
    trainer = run_config.get("trainer") or {}
    sig["trainer"] = {k: v for k, v in trainer.items() if k not in IGNORED_TRAINER_KEYS}
    callbacks = run_config.get("callbacks") or {}
    sig["callbacks"] = {name: {k: v for k, v in c.items() if k not in IGNORED_CALLBACK_KEYS}
                        for name, c in callbacks.items()
                        if isinstance(c, dict) and c.get("_target_") in TRAINING_CALLBACKS}
    return sig


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict) and node:
        out = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: node}


def signature_diff(old: dict, new: dict) -> list[str]:
    """Dotted keys whose values differ between two signatures, as `key (old -> new)`."""
    a, b = _flatten(old), _flatten(new)
    return [f"{k} ({a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r})" for k in sorted(set(a) | set(b))
            if a.get(k, "<absent>") != b.get(k, "<absent>")]


def _run_dirs(output_dir: Path) -> list[Path]:
    """`checkpoints/last.ckpt` of the sibling run dirs of `output_dir` and, for a multirun job, of its cousins."""
    parent = output_dir.parent
    return sorted({*parent.glob("*/checkpoints/last.ckpt"), *parent.parent.glob("*/*/checkpoints/last.ckpt")})


def _stored_signature(ckpt: Path) -> dict | None:
    try:
        stored = json.loads((ckpt.parent / "run_config.json").read_text())
    except (OSError, ValueError):
        return None
    return stored if isinstance(stored, dict) else None


def matching_checkpoints(output_dir: str | Path, signature: dict) -> list[Path]:
    """`last.ckpt` of every earlier run with the same `resume_signature`, newest first."""
    found = [c for c in _run_dirs(Path(output_dir).resolve()) if _stored_signature(c) == signature]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def find_last_checkpoint(output_dir: str | Path, signature: dict) -> Path | None:
    """Newest `checkpoints/last.ckpt` of an earlier run with the same `resume_signature` (not load-checked)."""
    found = matching_checkpoints(output_dir, signature)
    return found[0] if found else None


def schedule_knob(cfg: DictConfig, phases: tuple[str, ...]) -> str:
    """The setting that lengthens a run: `trainer.max_epochs` when set, else the method's last phase's length
    (`method.epochs`, `method.adversarial_rounds`, `method.simulation_epochs`, ...)."""
    if cfg.trainer.get("max_epochs"):
        return "trainer.max_epochs"
    for key in ("epochs", f"{phases[-1]}_epochs", f"{phases[-1]}_rounds"):
        if key in cfg.method:
            return f"method.{key}"
    return "trainer.max_epochs"


def _readable(path: Path) -> dict | None:
    try:
        return probe_checkpoint(path) if path.is_file() else None
    except CheckpointError as ex:
        log.warning(f"ckpt_path: {ex}")
        return None


def resolve_ckpt_path(cfg: DictConfig, signature: dict) -> str | None:
    """The checkpoint this run resumes from: `cfg.ckpt_path` itself (checked), the newest good checkpoint of
    the same configuration for `last`, or None (start from scratch)."""
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path is None:
        return None
    if ckpt_path != "last":
        path = Path(ckpt_path)
        if not path.is_file():
            raise ConfigError(f"ckpt_path={ckpt_path}: no such checkpoint file (ckpt_path=last resumes the newest "
                              f"run of this configuration)")
        try:
            probe_checkpoint(path)
        except CheckpointError as ex:
            prev = previous_checkpoint(path)
            hint = f"; its predecessor is readable: ckpt_path={prev}" if _readable(prev) else ""
            raise CheckpointError(f"ckpt_path={ckpt_path}: {ex}{hint}") from None
        return str(ckpt_path)

    output_dir = Path(cfg.paths.output_dir)
    bad: list[Path] = []
    for last in matching_checkpoints(output_dir, signature):
        for candidate in (last, previous_checkpoint(last)):
            if not candidate.is_file():
                continue
            info = _readable(candidate)
            if info is None:
                bad.append(candidate)
                continue
            if bad:
                log.warning(f"ckpt_path=last: {', '.join(map(str, bad))} unreadable; falling back to {candidate}")
            log.info(f"ckpt_path=last: resuming {candidate} (epoch {info['epoch']}, global step "
                     f"{info['global_step']}): its run_config.json equals this run's in every setting that changes "
                     f"what is computed (method, model, data, seed, trainer, training callbacks, test; not paths, "
                     f"loggers or progress display)")
            return str(candidate)
    if bad:
        names = ", ".join(map(str, bad))
        log.warning(f"ckpt_path=last: every checkpoint of this configuration is unreadable ({names}); starting from "
                    f"scratch")
        return None
    here = output_dir.resolve()
    others = [c for c in _run_dirs(here) if c.parent.parent != here]
    siblings = [c for c in others if c.parent.parent.parent == here.parent]
    others = siblings or others  # explain with a run of the same method and data when there is one
    why = ""
    if others:
        newest = max(others, key=lambda p: p.stat().st_mtime)
        stored = _stored_signature(newest)
        diff = signature_diff(stored, signature) if stored is not None else ["no readable run_config.json"]
        why = f"; the newest run there, {newest.parent.parent}, differs in {', '.join(diff[:4])}"
    log.warning(f"ckpt_path=last: no earlier run of this configuration with a checkpoint next to {output_dir}{why}; "
                f"starting from scratch")
    return None
