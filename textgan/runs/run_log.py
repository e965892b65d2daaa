"""What a run says goes into its `run.log`: Lightning's messages, Python warnings, textgan's own lines, and the
resolved config as a tree at start.

Hydra's `job_logging` gives the root logger a console handler and a file handler (`<output_dir>/run.log`), but
`pytorch_lightning` and `lightning_fabric` install their own stderr handler and stop propagation when they are
imported before any root handler exists (always: `run.py` imports them before Hydra configures logging), and
Lightning's hints are `warnings.warn` calls, which no logger sees. `route_library_logs()` undoes both, once the
root logger has handlers; without root handlers (a library user's own script) it changes nothing.
"""

from __future__ import annotations

import io
import logging
import warnings

from omegaconf import DictConfig, OmegaConf

__all__ = ["LIBRARY_LOGGERS", "config_tree", "route_library_logs"]

log = logging.getLogger(__name__)

LIBRARY_LOGGERS = ("pytorch_lightning", "lightning_fabric", "lightning", "lightning.pytorch", "lightning.fabric")

# `claim_run_dir` has already refused a dir holding another run's files, so ModelCheckpoint's own "not empty"
# warning can only be about this run's `vocab.json`/`run_config.json` or, on resume, its own checkpoints.
_REDUNDANT_WARNINGS = (r"Checkpoint directory .* exists and is not empty",)


def route_library_logs() -> None:
    """Send Lightning's log records and all Python warnings through the root logger's handlers (console +
    `run.log` under Hydra). Idempotent; a no-op when the root logger has no handlers."""
    root = logging.getLogger()
    if not root.handlers:
        return
    for name in LIBRARY_LOGGERS:
        lib = logging.getLogger(name)
        for handler in list(lib.handlers):
            if type(handler) is logging.StreamHandler:  # the library's own stderr handler: root prints it now
                lib.removeHandler(handler)
        lib.propagate = True
    logging.captureWarnings(True)  # warnings -> logger `py.warnings` -> root -> run.log
    for pattern in _REDUNDANT_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


def config_tree(cfg: DictConfig) -> str:
    """The resolved config as a rich tree (one branch per config group, its value as YAML; scalars one line
    each), as plain text: it is logged, so it reaches the console and `run.log` alike."""
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    tree = Tree("config")
    for key, value in cfg.items():
        if isinstance(value, DictConfig):
            tree.add(Text(str(key))).add(Text(OmegaConf.to_yaml(value, resolve=True).rstrip()))
        else:  # a scalar or list: one line, `key: value`, as in the YAML
            tree.add(Text(OmegaConf.to_yaml(OmegaConf.create({str(key): value}), resolve=True).rstrip()))
    buffer = io.StringIO()
    Console(file=buffer, width=120, color_system=None, force_terminal=False).print(tree)
    return buffer.getvalue().rstrip()
