"""Checkpoint -> trained method, without executing anything the file says: `load_method(ckpt_path, device)`.

`generate.py` and `textgan.cli.chat` rebuild a method from a checkpoint alone (its resolved run config, its vocabulary,
its weights). The config is plain dicts, so `torch.load(weights_only=True)` does not make it safe: handing it to
`hydra.utils.instantiate` would call any importable function named by a `_target_` nested in any value (a shared
checkpoint that writes files or imports code). Here nothing from the file is instantiated beyond what textgan names:

- the method's `_target_` must be one of `METHODS` (the classes `conf/method/*.yaml` build);
- its model slots (`MODEL_SLOTS`: `generator`, `discriminator`, `critic`) must each be a node whose `_target_` is
  one of `MODELS` (the classes `conf/model/*.yaml` build); textgan itself wraps them in `functools.partial`, as the
  method expects (the file's `_partial_` flag is not obeyed);
- its settings slots (`SETTINGS`: the dialogue methods' `decoding` and `simulation`) must each be a node whose
  `_target_` is that slot's settings dataclass, with plain values; checkpoints written before those were nodes
  (flat `eval_decode`, `beam_size`, `sim_inputs`, ...: `FLAT_SETTINGS`) have their keys moved into them;
- its optimiser slots (`optimizer`, `<role>_optimizer`, `textgan.optim`) must each be a node whose `_target_` is
  one of `textgan.optim.OPTIMIZERS` with plain settings; they are checked and then left out: a method loaded for
  generation never trains, so it keeps its constructor's default optimisers;
- the learning rates of checkpoints written before optimisers were config nodes (`LEGACY_KEYS`: `lr`, `betas`,
  `g_pretrain_lr`, ...) are checked as plain data and dropped, so those checkpoints still load;
- every key must be a parameter of the class it configures (keys of `RETIRED_METHOD_KEYS`, settings that moved
  out of a method in a later version, are skipped), and every other value plain data (None, bool, int,
  float, str, lists and dicts of those) with no `_target_`, `_args_`, `_partial_`, `_recursive_` or `_convert_`
  anywhere in it.

Anything else is a tampered (or foreign) checkpoint and raises `CheckpointError` with one line before any class
is built. Unreadable files (truncated, garbage, pickled objects) raise `CheckpointError` too, never torch's advice to
load with `weights_only=False`.

The run layer reads checkpoints here too: `probe_checkpoint` (a cheap load-check of a `ckpt_path=last`
candidate), `epochs_done`, `previous_checkpoint` (where `AtomicCheckpointIO` keeps the file a save replaced) and
`check_checkpoint` (before fitting: the weights and vocabulary fit the method this run built).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from textgan.config.checks import _name
from textgan.config.validate import FLAT_SETTINGS
from textgan.errors import ConfigError, UserError
from textgan.optim import OPTIMIZERS, is_optimizer_parameter, optimizer_class

# `_target_` -> (module, class): the only classes a checkpoint may name (tests check these equal conf/'s targets)
METHODS: dict[str, tuple[str, str]] = {
    "textgan.methods.mle.MLE": ("textgan.methods.mle", "MLE"),
    "textgan.methods.seqgan.SeqGAN": ("textgan.methods.seqgan", "SeqGAN"),
    "textgan.methods.wgan_gp.WGANGP": ("textgan.methods.wgan_gp", "WGANGP"),
    "textgan.methods.gumbel_gan.GumbelGAN": ("textgan.methods.gumbel_gan", "GumbelGAN"),
    "textgan.methods.seq2seq.Seq2SeqMLE": ("textgan.methods.seq2seq", "Seq2SeqMLE"),
    "textgan.methods.dialogue_seqgan.DialogueSeqGAN": ("textgan.methods.dialogue_seqgan", "DialogueSeqGAN"),
    "textgan.methods.dialogue_rl.DialogueRL": ("textgan.methods.dialogue_rl", "DialogueRL"),
    "textgan.methods.relgan.RelGAN": ("textgan.methods.relgan", "RelGAN"),
}
MODELS: dict[str, tuple[str, str]] = {
    "textgan.models.lstm.LSTMGenerator": ("textgan.models.lstm", "LSTMGenerator"),
    "textgan.models.cnn.CNNDiscriminator": ("textgan.models.cnn", "CNNDiscriminator"),
    "textgan.models.conv_resnet.ConvResNetGenerator": ("textgan.models.conv_resnet", "ConvResNetGenerator"),
    "textgan.models.conv_resnet.ConvResNetCritic": ("textgan.models.conv_resnet", "ConvResNetCritic"),
    "textgan.models.gumbel_lstm.GumbelLSTMGenerator": ("textgan.models.gumbel_lstm", "GumbelLSTMGenerator"),
    "textgan.models.gumbel_lstm.OneHotLSTMDiscriminator": ("textgan.models.gumbel_lstm", "OneHotLSTMDiscriminator"),
    "textgan.models.seq2seq.Seq2Seq": ("textgan.models.seq2seq", "Seq2Seq"),
    "textgan.models.hierarchical.HierarchicalDiscriminator": ("textgan.models.hierarchical",
                                                              "HierarchicalDiscriminator"),
    "textgan.models.rmc.RMCGenerator": ("textgan.models.rmc", "RMCGenerator"),
    "textgan.models.relgan_discriminator.RelGANDiscriminator": ("textgan.models.relgan_discriminator",
                                                                "RelGANDiscriminator"),
}
MODEL_SLOTS = ("generator", "discriminator", "critic")
# settings slot -> the dataclass its node's `_target_` must name (conf/decoding, conf/simulation)
SETTINGS: dict[str, tuple[str, str]] = {
    "decoding": ("textgan.decoding", "DecodingSettings"),
    "simulation": ("textgan.dialogue.simulation", "SimulationSettings"),
}
HYDRA_KEYS = ("_target_", "_args_", "_partial_", "_recursive_", "_convert_")
# arguments textgan passes itself when it builds the object: a checkpoint may not set them
METHOD_SUPPLIED = ("vocab",)
# method settings that earlier textgan versions wrote and that moved elsewhere: skipped when a checkpoint has them
RETIRED_METHOD_KEYS = {
    "textgan.methods.wgan_gp.WGANGP": ("js_orders",),  # evaluation settings, now the `metrics:` config's
}
MODEL_SUPPLIED = ("vocab_size", "seq_len", "pad_id", "bos_id", "eos_id")
# method settings of checkpoints written before optimisers were `_partial_` nodes (now `<role>_optimizer.lr`)
LEGACY_KEYS = ("lr", "betas", "g_pretrain_lr", "g_adv_lr", "d_lr", "mle_lr", "rl_lr")

PREVIOUS_SUFFIX = ".prev"  # last.ckpt's predecessor: last.prev.ckpt


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be read or must not be trusted; the message is one line naming file and fix."""


def read_checkpoint(path: str | Path) -> dict:
    """`torch.load(path, weights_only=True)` on CPU; any failure is a one-line `CheckpointError` (torch's own
    message suggests `weights_only=False`, which would execute the file)."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
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


def _import(table: dict[str, tuple[str, str]], target: Any, where: str, path: Path) -> type:
    if not isinstance(target, str) or target not in table:
        kind = "method" if table is METHODS else "model"
        raise CheckpointError(f"{path}: {where}._target_={target!r} is not a textgan {kind}; refusing to build it "
                              f"(the checkpoint was altered or not written by textgan)")
    module, name = table[target]
    return getattr(importlib.import_module(module), name)


def _check_plain(value: Any, where: str, path: Path) -> None:
    """Plain data only, and no Hydra instantiation keys at any depth."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]", path)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str) or k in HYDRA_KEYS:
                raise CheckpointError(f"{path}: {where} holds {k!r}; textgan builds nothing from a value, refusing "
                                      f"this checkpoint (it was altered or not written by textgan)")
            _check_plain(v, f"{where}.{k}", path)
        return
    raise CheckpointError(f"{path}: {where} is a {type(value).__name__}, not plain data; refusing this checkpoint")


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
            raise CheckpointError(f"{path}: {where}.{key} is not a setting of {cls.__name__}; refusing this "
                                  f"checkpoint (it was altered or not written by textgan)")
        kwargs[key] = value
    return kwargs


def _check_optimizer(node: Any, where: str, path: Path) -> None:
    """An optimiser node: `_target_` one of `OPTIMIZERS`, settings that are parameters of it and plain data."""
    if not isinstance(node, dict):
        raise CheckpointError(f"{path}: {where} is not an optimiser node; refusing this checkpoint")
    target = node.get("_target_")
    if not isinstance(target, str) or target not in OPTIMIZERS:
        raise CheckpointError(f"{path}: {where}._target_={target!r} is not an optimiser textgan allows "
                              f"({', '.join(OPTIMIZERS)}); refusing this checkpoint (it was altered or not written "
                              f"by textgan)")
    params = inspect.signature(optimizer_class(target).__init__).parameters
    for key, value in node.items():
        if key == "_target_" or (key == "_partial_" and value is True):
            continue
        if not isinstance(key, str) or key not in params or key in ("self", "params"):
            raise CheckpointError(f"{path}: {where}.{key} is not a setting of {target}; refusing this checkpoint "
                                  f"(it was altered or not written by textgan)")
        _check_plain(value, f"{where}.{key}", path)


def nest_flat_settings(method_cfg: dict, params: Mapping[str, Any]) -> dict:
    """`method_cfg` with the keys of `FLAT_SETTINGS` that are not parameters of the method (`params`) moved into
    their settings node (`beam_size` -> `decoding.beam_size`): a dialogue checkpoint of an older textgan."""
    moved = {k: v for k, v in method_cfg.items()
             if k in FLAT_SETTINGS and k not in params and FLAT_SETTINGS[k][0] in params}
    nested = {k: v for k, v in method_cfg.items() if k not in moved}
    for old, value in moved.items():
        slot, key = FLAT_SETTINGS[old]
        module, name = SETTINGS[slot]
        nested[slot] = {"_target_": f"{module}.{name}", **(nested.get(slot) or {}), key: value}
    return nested


def _settings(slot: str, value: Any, where: str, path: Path) -> Any:
    """The settings dataclass of `slot`, built from its node (its `_target_` must be the slot's class)."""
    module, name = SETTINGS[slot]
    target = value.get("_target_") if isinstance(value, dict) else None
    if target != f"{module}.{name}":
        raise CheckpointError(f"{path}: {where}._target_={target!r} is not {module}.{name}; refusing this "
                              f"checkpoint (it was altered or not written by textgan)")
    cls = getattr(importlib.import_module(module), name)
    kwargs = _kwargs(cls, value, where, (), path)
    _check_plain(kwargs, where, path)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as ex:  # a value its checks refuse: ConfigError is a ValueError
        raise CheckpointError(f"{path}: {where} does not build a {name} ({ex}); the checkpoint is damaged or "
                              f"from another textgan version") from None


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
    cls = _import(METHODS, method_cfg.get("_target_"), "config.method", path)
    retired = RETIRED_METHOD_KEYS.get(method_cfg["_target_"], ())
    method_cfg = {k: v for k, v in method_cfg.items() if k not in retired}
    params = inspect.signature(cls.__init__).parameters
    method_cfg = nest_flat_settings(method_cfg, params)
    for key in [k for k in method_cfg if isinstance(k, str) and k not in params]:
        if key in LEGACY_KEYS:  # an older checkpoint's learning rate: plain data, not needed for generation
            _check_plain(method_cfg.pop(key), f"config.method.{key}", path)
    for key in [k for k in method_cfg if isinstance(k, str) and is_optimizer_parameter(k) and k in params]:
        _check_optimizer(method_cfg.pop(key), f"config.method.{key}", path)
    kwargs = _kwargs(cls, method_cfg, "config.method", METHOD_SUPPLIED, path)
    for key, value in kwargs.items():
        where = f"config.method.{key}"
        if key in MODEL_SLOTS:
            if not isinstance(value, dict):
                raise CheckpointError(f"{path}: {where} is not a model node; refusing this checkpoint")
            model_cls = _import(MODELS, value.get("_target_"), where, path)
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
    try:
        method.load_state_dict(ckpt.get("state_dict", {}))
    except RuntimeError as ex:
        first = str(ex).strip().splitlines()[0]
        raise CheckpointError(f"{path}: its weights do not fit the model its config describes ({first})") from None
    method.run_config = config
    return method.eval().to(device)


def previous_checkpoint(ckpt: str | Path) -> Path:
    """Where `AtomicCheckpointIO` keeps the checkpoint that `ckpt` replaced (`last.ckpt` -> `last.prev.ckpt`)."""
    ckpt = Path(ckpt)
    return ckpt.with_name(f"{ckpt.stem}{PREVIOUS_SUFFIX}{ckpt.suffix}")


def probe_checkpoint(path: str | Path) -> dict:
    """Load-check `path` cheaply (`weights_only=True`, tensors memory-mapped, not read); returns its `epoch` and
    `global_step`. Raises `CheckpointError` (one line) when it is unreadable or not a training checkpoint."""
    import torch

    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as ex:
        raise CheckpointError(f"{path} is unreadable: truncated or not a checkpoint ({type(ex).__name__})") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "loops" not in ckpt:
        raise CheckpointError(f"{path} is not a training checkpoint (no weights or loop state)")
    return {"epoch": ckpt.get("epoch"), "global_step": ckpt.get("global_step")}


def epochs_done(path: str | Path) -> int:
    """Schedule epochs (one Lightning epoch = one unit of a method's schedule) that the checkpoint `path` has
    finished: Lightning's `epoch_progress.current.processed`, which counts an epoch once its batches have all run
    (a checkpoint written mid-epoch, by an interrupt, counts only the epochs before it)."""
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    progress = ckpt.get("loops", {}).get("fit_loop", {}).get("epoch_progress", {}).get("current", {})
    return int(progress.get("processed", ckpt.get("epoch") or 0))


def _key_list(keys: list[str]) -> str:
    return ", ".join(keys[:3]) + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")


def check_checkpoint(method, ckpt_path: str | os.PathLike | None) -> None:
    """Before fitting: the weights and vocabulary of `ckpt_path` must fit the `method` this run built (else one
    line naming the method that wrote the checkpoint). A file that cannot be read is left to the loader."""
    if not ckpt_path:
        return
    import torch

    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
        state = ckpt["state_dict"]
    except Exception:
        return
    if "vocab" in ckpt:
        from textgan.data.vocab import Vocabulary

        method.vocab.check_same(Vocabulary.from_state_dict(ckpt["vocab"]))
    own = method.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if not (missing or unexpected or shapes):
        return
    config = ckpt.get("config") or {}
    method_cfg = config.get("method") if isinstance(config.get("method"), dict) else {}
    target = method_cfg.get("_target_")
    # the networks: the method's own nodes (checkpoints written before that: a top-level `model` node)
    model = {slot: node for slot, node in method_cfg.items() if slot in ("generator", "discriminator", "critic")} \
        or config.get("model") or {}
    written = f"{_name('method', target)}" if isinstance(target, str) else "another method"
    diff = "; ".join(filter(None, [missing and f"missing {_key_list(missing)}",
                                   unexpected and f"unexpected {_key_list(unexpected)}",
                                   shapes and f"other shapes: {_key_list(shapes)}"]))
    sizes = f" and the model sizes it was trained with ({_sizes(model)})" if isinstance(model, dict) and model \
        else " and the model sizes it was trained with"
    raise ConfigError(f"ckpt_path={ckpt_path} holds weights of {written} that do not fit this run's "
                      f"{type(method).__name__} ({diff}); resume it with {written}{sizes}, or start without "
                      "ckpt_path")


def _sizes(model: dict) -> str:
    """`generator.hidden_dim=32, ...`: the integer settings of the checkpoint's model config."""
    found = [f"{part}.{k}={v}" for part, node in model.items() if isinstance(node, dict)
             for k, v in node.items() if isinstance(v, int) and not isinstance(v, bool)]
    return ", ".join(found[:6]) + (", ..." if len(found) > 6 else "")
