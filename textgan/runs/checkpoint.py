"""Checkpoint -> trained method, without executing anything the file says: `load_method(ckpt_path, device)`.

`generate.py` and `textgan.cli.chat` rebuild a method from a checkpoint alone (its resolved run config, its vocabulary,
its weights). The config is plain dicts, so `torch.load(weights_only=True)` does not make it safe: handing it to
`hydra.utils.instantiate` would call any importable function named by a `_target_` nested in any value (a shared
checkpoint that writes files or imports code). Here nothing from the file is instantiated beyond what textgan names:

- the method's `_target_` must be one of the classes `conf/method/*.yaml` build (`textgan.config.registry`);
- its model slots (`MODEL_SLOTS`: `generator`, `discriminator`, `critic`) must each be a node whose `_target_` is
  one of the classes `conf/model/*/*.yaml` build; textgan itself wraps them in `functools.partial`, as the
  method expects (the file's `_partial_` flag is not obeyed);
- its settings slots (`SETTINGS`: the dialogue methods' `decoding` and `simulation`) must each be a node whose
  `_target_` is a class `conf/<slot>/` builds, with plain values;
- its optimiser slots (`optimizer`, `<role>_optimizer`, `textgan.optim`) must each be a node whose `_target_` is
  one of `textgan.optim.OPTIMIZERS` with plain settings; they are checked and then left out: a method loaded for
  generation never trains, so it keeps its constructor's default optimisers;
- every key must be a parameter of the class it configures, and every other value plain data (None, bool, int,
  float, str, lists and dicts of those) with no `_target_`, `_args_`, `_partial_`, `_recursive_` or `_convert_`
  anywhere in it.

Anything else is a tampered (or foreign) checkpoint and raises `CheckpointError` with one line before any class
is built. Unreadable files (truncated, garbage, pickled objects) raise `CheckpointError` too, never torch's advice to
load with `weights_only=False`.

Every reader of a checkpoint in the run layer goes through here, and every `torch.load` through
`textgan.errors.read_checkpoint`: `probe_checkpoint` (a cheap load-check of a `ckpt_path=last` candidate),
`epochs_done`, `previous_checkpoint` (where `AtomicCheckpointIO` keeps the file a save replaced) and
`check_checkpoint` (before fitting: the weights and vocabulary fit the method this run built). Weights that do not
fit are explained by `textgan.errors.weights_misfit`: the first missing, unexpected or differently shaped key.
"""

from __future__ import annotations

import functools
import inspect
import os
from pathlib import Path
from typing import Any

import torch

from textgan.config.registry import import_target, option_name, targets
from textgan.errors import CheckpointError, ConfigError, plain_data_problem, read_checkpoint, weights_misfit
from textgan.optim import OPTIMIZERS, is_optimizer_parameter, optimizer_class

__all__ = ["CheckpointError", "MODEL_SLOTS", "SETTINGS", "build_method", "check_checkpoint", "epochs_done",
           "load_method", "previous_checkpoint", "probe_checkpoint", "read_checkpoint"]

MODEL_SLOTS = ("generator", "discriminator", "critic")  # a method's networks: nodes of `conf/model/<slot>/`
SETTINGS = ("decoding", "simulation")  # a method's settings dataclasses: nodes of `conf/<slot>/`
# arguments textgan passes itself when it builds the object: a checkpoint may not set them
METHOD_SUPPLIED = ("vocab",)
MODEL_SUPPLIED = ("vocab_size", "seq_len", "pad_id", "bos_id", "eos_id")
REFUSED = "refusing this checkpoint (it was altered or not written by textgan)"

PREVIOUS_SUFFIX = ".prev"  # last.ckpt's predecessor: last.prev.ckpt


def _import(group: str, target: Any, where: str, path: Path) -> type:
    if not isinstance(target, str) or target not in targets(group):
        raise CheckpointError(f"{path}: {where}._target_={target!r} is not a textgan {group}; refusing to build it "
                              f"(the checkpoint was altered or not written by textgan)")
    return import_target(target)


def _check_plain(value: Any, where: str, path: Path) -> None:
    """Plain data only, and no Hydra instantiation keys at any depth."""
    problem = plain_data_problem(value, where)
    if problem:
        raise CheckpointError(f"{path}: {problem}; textgan builds nothing from a value, {REFUSED}")


def _kwargs(cls: type, node: dict, where: str, supplied: tuple[str, ...], path: Path) -> dict:
    """The node's keys as keyword arguments of `cls`: each must be a parameter that textgan does not supply."""
    params = inspect.signature(cls.__init__).parameters
    kwargs = {}
    for key, value in node.items():
        if key == "_target_":
            continue
        if key == "_partial_" and value is True and supplied is MODEL_SUPPLIED:
            continue  # our own configs mark models partial; textgan wraps them itself
        if not isinstance(key, str) or key not in params or key in supplied or key == "self":
            raise CheckpointError(f"{path}: {where}.{key} is not a setting of {cls.__name__}; {REFUSED}")
        kwargs[key] = value
    return kwargs


def _check_optimizer(node: Any, where: str, path: Path) -> None:
    """An optimiser node: `_target_` one of `OPTIMIZERS`, settings that are parameters of it and plain data."""
    if not isinstance(node, dict):
        raise CheckpointError(f"{path}: {where} is not an optimiser node; refusing this checkpoint")
    target = node.get("_target_")
    if not isinstance(target, str) or target not in OPTIMIZERS:
        raise CheckpointError(f"{path}: {where}._target_={target!r} is not an optimiser textgan allows "
                              f"({', '.join(OPTIMIZERS)}); {REFUSED}")
    params = inspect.signature(optimizer_class(target).__init__).parameters
    for key, value in node.items():
        if key == "_target_" or (key == "_partial_" and value is True):
            continue
        if not isinstance(key, str) or key not in params or key in ("self", "params"):
            raise CheckpointError(f"{path}: {where}.{key} is not a setting of {target}; {REFUSED}")
        _check_plain(value, f"{where}.{key}", path)


def _settings(slot: str, value: Any, where: str, path: Path) -> Any:
    """The settings dataclass of `slot`, built from its node (its `_target_` must be a class `conf/<slot>/` builds)."""
    target = value.get("_target_") if isinstance(value, dict) else None
    if target not in targets(slot):
        raise CheckpointError(f"{path}: {where}._target_={target!r} is not {' or '.join(sorted(targets(slot)))}; "
                              f"{REFUSED}")
    cls = import_target(target)
    kwargs = _kwargs(cls, value, where, (), path)
    _check_plain(kwargs, where, path)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as ex:  # a value its checks refuse: ConfigError is a ValueError
        raise CheckpointError(f"{path}: {where} does not build a {cls.__name__} ({ex}); the checkpoint is damaged "
                              f"or from another textgan version") from None


def build_method(method_cfg: Any, vocab, path: str | Path = "checkpoint"):
    """The method named by a checkpoint's `config["method"]`, built by allow-list (see the module docstring).

    Args:
        method_cfg: the resolved `method` node as stored in the checkpoint (plain dicts).
        vocab: the checkpoint's `Vocabulary`.
        path: the file, for messages.
    """
    path = Path(path)
    if not isinstance(method_cfg, dict):
        raise CheckpointError(f"{path}: config.method is not a config node; refusing this checkpoint")
    cls = _import("method", method_cfg.get("_target_"), "config.method", path)
    params = inspect.signature(cls.__init__).parameters
    for key in [k for k in method_cfg if isinstance(k, str) and is_optimizer_parameter(k) and k in params]:
        _check_optimizer(method_cfg.pop(key), f"config.method.{key}", path)
    kwargs = _kwargs(cls, method_cfg, "config.method", METHOD_SUPPLIED, path)
    for key, value in kwargs.items():
        where = f"config.method.{key}"
        if key in MODEL_SLOTS:
            if not isinstance(value, dict):
                raise CheckpointError(f"{path}: {where} is not a model node; refusing this checkpoint")
            model_cls = _import("model", value.get("_target_"), where, path)
            model_kwargs = _kwargs(model_cls, value, where, MODEL_SUPPLIED, path)
            _check_plain(model_kwargs, where, path)
            kwargs[key] = functools.partial(model_cls, **model_kwargs)
        elif key in SETTINGS:
            kwargs[key] = _settings(key, value, where, path)
        else:
            _check_plain(value, where, path)
    try:
        return cls(vocab=vocab, **kwargs)
    except (TypeError, ValueError, RuntimeError) as ex:
        first = (str(ex).strip().splitlines() or [""])[0]
        raise CheckpointError(f"{path}: config.method does not build a {cls.__name__} ({type(ex).__name__}: "
                              f"{first}); the checkpoint is damaged or from another textgan version") from None


def load_method(ckpt_path: str | Path, device: str | torch.device = "cpu"):
    """Rebuild the trained method of a checkpoint (allow-listed config + vocabulary + weights), in eval mode on
    `device`; `method.run_config` is the checkpoint's resolved run config. Raises `CheckpointError` (one line)."""
    from textgan.data.vocab import Vocabulary

    path = Path(ckpt_path)
    ckpt = read_checkpoint(path)
    config = ckpt.get("config")
    if not isinstance(config, dict) or "method" not in config or "vocab" not in ckpt:
        raise CheckpointError(f"{path} has no run config or vocabulary: it was not written by textgan's train.py")
    try:
        vocab = Vocabulary.from_state_dict(ckpt["vocab"])
    except (KeyError, TypeError, ValueError) as ex:
        raise CheckpointError(f"{path}: its vocabulary is unreadable ({ex}); refusing this checkpoint") from None
    method = build_method(config["method"], vocab, path)
    state = ckpt.get("state_dict", {})
    misfit = weights_misfit(method.state_dict(), state) if isinstance(state, dict) else "no state_dict"
    if misfit:
        raise CheckpointError(f"{path}: its weights do not fit the model its config describes ({misfit})")
    try:
        method.load_state_dict(state)
    except (RuntimeError, TypeError) as ex:  # a value of the state dict that is not a tensor
        first = (str(ex).strip().splitlines() or [""])[0]
        raise CheckpointError(f"{path}: its weights do not fit the model its config describes ({first})") from None
    method.run_config = config
    return method.eval().to(device)


def previous_checkpoint(ckpt: str | Path) -> Path:
    """Where `AtomicCheckpointIO` keeps the checkpoint that `ckpt` replaced (`last.ckpt` -> `last.prev.ckpt`)."""
    ckpt = Path(ckpt)
    return ckpt.with_name(f"{ckpt.stem}{PREVIOUS_SUFFIX}{ckpt.suffix}")


def probe_checkpoint(path: str | Path) -> dict:
    """Load-check `path` cheaply (tensors memory-mapped, not read); returns its `epoch` and `global_step`. Raises
    `CheckpointError` (one line) when it is unreadable or not a training checkpoint."""
    path = Path(path)
    try:
        ckpt = read_checkpoint(path, mmap=True)
    except CheckpointError:
        raise CheckpointError(f"{path} is unreadable: truncated or not a checkpoint") from None
    if "state_dict" not in ckpt or "loops" not in ckpt:
        raise CheckpointError(f"{path} is not a training checkpoint (no weights or loop state)")
    return {"epoch": ckpt.get("epoch"), "global_step": ckpt.get("global_step")}


def epochs_done(path: str | Path) -> int:
    """Schedule epochs (one Lightning epoch = one unit of a method's schedule) that the checkpoint `path` has
    finished: Lightning's `epoch_progress.current.processed`, which counts an epoch once its batches have all run
    (a checkpoint written mid-epoch, by an interrupt, counts only the epochs before it)."""
    ckpt = read_checkpoint(path, mmap=True)
    progress = ckpt.get("loops", {}).get("fit_loop", {}).get("epoch_progress", {}).get("current", {})
    return int(progress.get("processed", ckpt.get("epoch") or 0))


def check_checkpoint(method, ckpt_path: str | os.PathLike | None) -> None:
    """Before fitting: the weights and vocabulary of `ckpt_path` must fit the `method` this run built (else one
    line naming the method that wrote the checkpoint). A file that cannot be read is left to the loader."""
    if not ckpt_path:
        return
    try:
        ckpt = read_checkpoint(ckpt_path, mmap=True)
        state = ckpt["state_dict"]
    except (CheckpointError, KeyError):
        return
    if "vocab" in ckpt:
        from textgan.data.vocab import Vocabulary

        method.vocab.check_same(Vocabulary.from_state_dict(ckpt["vocab"]))
    misfit = weights_misfit(method.state_dict(), state)
    if not misfit:
        return
    config = ckpt.get("config") or {}
    method_cfg = config.get("method") if isinstance(config.get("method"), dict) else {}
    target = method_cfg.get("_target_")
    model = {slot: node for slot, node in method_cfg.items() if slot in MODEL_SLOTS}
    written = option_name("method", target) if isinstance(target, str) else "another method"
    sizes = f" ({_sizes(model)})" if model else ""
    raise ConfigError(f"ckpt_path={ckpt_path} holds weights of {written} that do not fit this run's "
                      f"{type(method).__name__} ({misfit}); resume it with {written} and the model sizes it was "
                      f"trained with{sizes}, or start without ckpt_path")


def _sizes(model: dict) -> str:
    """`generator.hidden_dim=32, ...`: the integer settings of the checkpoint's model config."""
    found = [f"{part}.{k}={v}" for part, node in model.items() if isinstance(node, dict)
             for k, v in node.items() if isinstance(v, int) and not isinstance(v, bool)]
    return ", ".join(found[:6]) + (", ..." if len(found) > 6 else "")
