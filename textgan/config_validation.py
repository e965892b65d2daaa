"""Config mistakes as one-line errors: unknown option of a group, unknown key, wrong type or value.

Two checks:

- `check_overrides(overrides)` composes the config the way `run.py` will (each value of a sweep separately) and
  turns Hydra's composition errors into `ConfigError`s that name the key and the valid choices
  (`method=seqgn: unknown option of group 'method'; choose one of: mle, seqgan, wgan_gp (did you mean seqgan?)`).
- `validate_config(cfg)` checks the composed config against the code: every key of a node with a `_target_` must
  be a parameter of that class or function, and a value must fit the parameter's annotation (int, float, bool,
  str, lists, `Literal[...]` choices, unions of those); the top-level keys have a small schema of their own.

`run.py` runs both before Hydra starts the job; `train.py` runs `validate_config` (so API users get it too).
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from textgan.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parent / "conf"
_SPECIAL_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}

# top-level keys of conf/config.yaml: allowed types (None allowed where listed)
TOP_LEVEL_SCHEMA: dict[str, tuple] = {
    "sweep_name": (str,),
    "seed": (int, type(None)),
    "test": (bool,),
    "ckpt_path": (str, type(None)),
    "num_threads": (int, type(None)),
    "keep_freed_memory": (bool,),
    "eval_every": (int,),
    "optimized_metric": (str,),
    "optimized_mode": ("min", "max"),
}


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def group_options(group: str, config_dir: Path = CONF_DIR) -> list[str]:
    """The options of config group `group` (e.g. "method" -> ["mle", "seqgan"]), from `conf/<group>/*.yaml`."""
    folder = config_dir / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


# ---------------------------------------------------------------------------------------------- composed config
def _annotation_accepts(annotation: Any, value: Any) -> bool | None:
    """True/False when `annotation` can be checked against `value`; None when it cannot (accept)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return None
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return value in typing.get_args(annotation) or str(value) in [str(a) for a in typing.get_args(annotation)]
    if origin in (typing.Union, types.UnionType):
        verdicts = [_annotation_accepts(a, value) for a in typing.get_args(annotation)]
        if any(v is None for v in verdicts):
            return None if not any(verdicts) else True
        return any(verdicts)
    if annotation is type(None):
        return value is None
    base = origin or annotation
    if base is bool:
        return isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is str:
        return isinstance(value, str)
    if base in (list, tuple, typing.Sequence, Sequence):
        return isinstance(value, (list, tuple, ListConfig))
    if base is dict:
        return isinstance(value, (dict, DictConfig))
    return None


def _describe(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "null"
    text = str(annotation).replace("typing.", "")
    return getattr(annotation, "__name__", text) if not typing.get_args(annotation) else text


def _target_parameters(target: str) -> tuple[dict[str, inspect.Parameter], dict[str, Any], bool] | None:
    from hydra._internal.utils import _locate

    obj = _locate(target)
    fn = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # forward references we cannot resolve: check names only
        hints = {}
    params = {n: p for n, p in sig.parameters.items() if n != "self"}
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return params, hints, var_kw


def _safe_value(node: DictConfig, key: str) -> tuple[bool, Any]:
    try:
        value = node[key]
    except OmegaConfBaseException:  # an interpolation that only resolves inside a Hydra job, or a missing value
        return False, None
    if isinstance(value, (DictConfig, ListConfig)):
        try:
            value = OmegaConf.to_container(value, resolve=True)
        except OmegaConfBaseException:
            return False, None
    return True, value


def _validate_node(node: DictConfig, path: str) -> None:
    if "_target_" in node:
        target = node._target_
        try:
            found = _target_parameters(target)
        except Exception as ex:
            raise ConfigError(f"{path}._target_: cannot import '{target}' ({type(ex).__name__}: {ex})") from None
        if found is not None:
            params, hints, var_kw = found
            for key in node:
                if key in _SPECIAL_KEYS:
                    continue
                if key not in params:
                    if var_kw:
                        continue
                    valid = sorted(k for k, p in params.items() if p.kind not in (
                        inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD))
                    raise ConfigError(f"unknown key '{path}.{key}' for {target}{_did_you_mean(key, valid)}; "
                                      f"valid keys: {', '.join(valid)}")
                sub = node._get_node(key)
                if isinstance(sub, DictConfig) and "_target_" in sub:
                    continue
                ok, value = _safe_value(node, key)
                if not ok:
                    continue
                annotation = hints.get(key, params[key].annotation)
                if _annotation_accepts(annotation, value) is False:
                    raise ConfigError(f"'{path}.{key}' must be {_describe(annotation)}, got {value!r} "
                                      f"({type(value).__name__})")
    for key in node:
        sub = node._get_node(key)
        if isinstance(sub, DictConfig) and not sub._is_none() and not sub._is_missing():
            try:
                _validate_node(sub, f"{path}.{key}" if path else str(key))
            except OmegaConfBaseException:
                continue


def validate_config(cfg: DictConfig) -> None:
    """Raise `ConfigError` (one line) when `cfg` has an unknown key, a wrong type or an invalid choice, or fails
    `textgan.preflight` (a missing value, a value out of range, a method/data pairing that does not fit, more
    devices than exist)."""
    for key, allowed in TOP_LEVEL_SCHEMA.items():
        if key not in cfg:
            continue
        ok, value = _safe_value(cfg, key)
        if not ok:
            continue
        types_ = tuple(a for a in allowed if isinstance(a, type))
        choices = [a for a in allowed if not isinstance(a, type)]
        if choices and value not in choices:
            raise ConfigError(f"'{key}' must be one of {', '.join(map(repr, choices))}, got {value!r}")
        if types_ and not (isinstance(value, types_) and not (isinstance(value, bool) and bool not in types_)):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types_)
            raise ConfigError(f"'{key}' must be {names}, got {value!r} ({type(value).__name__})")
    for key in cfg:
        if key == "hydra":
            continue
        sub = cfg._get_node(key)
        if isinstance(sub, DictConfig) and not sub._is_none() and not sub._is_missing():
            _validate_node(sub, str(key))
    from textgan.preflight import preflight

    preflight(cfg)  # ranges, method/data pairing, devices: the checks that need the types to be right first


# ---------------------------------------------------------------------------------------------- overrides
def _override_text(o, value: str | None = None) -> str:
    if value is None:
        return o.input_line
    return f"{o.get_key_element()}={value}"


def _explain(ex: Exception, overrides: list[str], config_dir: Path) -> str:
    """One line from a Hydra/OmegaConf composition error."""
    import re

    text = str(ex)
    cause = ex.__cause__ if ex.__cause__ is not None else ex.__context__
    full = text + "\n" + (str(cause) if cause else "")
    m = re.search(r"Could not find '([^']+)/([^'/]+)'", full) or \
        re.search(r"Could not load '([^']+)/([^'/]+)'", full)
    if m:
        group, option = m.group(1), m.group(2)
        if group.startswith("hydra/"):
            return (f"{group}={option}: not available; the Optuna sweeper and the SLURM launcher come with "
                    f"`pip install -e \".[sweep]\"`")
        options = group_options(group, config_dir)
        if options:
            return (f"{group}={option}: unknown option of group '{group}'{_did_you_mean(option, options)}; "
                    f"choose one of: {', '.join(options)}")
    m = re.search(r"Could not override '([^']+)'", full)
    if m and "not in struct" in full:
        key = m.group(1)
        parent, _, leaf = key.rpartition(".")
        valid = _valid_keys(overrides, parent, config_dir)
        hint = f"; valid keys{' under ' + repr(parent) if parent else ''}: {', '.join(valid)}" if valid else ""
        return f"unknown config key '{key}'{_did_you_mean(leaf, valid)}{hint} (add a new key with +{key}=...)"
    m = re.search(r"Could not append to config. An item is already at '([^']+)'", full)
    if m:
        return f"'{m.group(1)}' exists already: set it with {m.group(1)}=... (not +{m.group(1)}=...)"
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(ex).__name__)
    return first


def _valid_keys(overrides: list[str], parent: str, config_dir: Path) -> list[str]:
    """Keys of node `parent` in the config composed with the group choices of `overrides` (best effort)."""
    groups = [o for o in overrides if "=" in o and "/" not in o.split("=")[0] and "." not in o.split("=")[0]
              and not o.startswith(("+", "~")) and "," not in o]
    try:
        cfg = _compose(groups, config_dir)
    except Exception:
        try:
            cfg = _compose([], config_dir)
        except Exception:
            return []
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if not isinstance(node, DictConfig):
        return []
    return sorted(str(k) for k in node if k not in _SPECIAL_KEYS and k != "hydra")


def _compose(overrides: list[str], config_dir: Path) -> DictConfig:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(config_dir)):
            return compose("config", overrides=overrides)
    finally:
        GlobalHydra.instance().clear()


def check_overrides(overrides: list[str], config_dir: Path = CONF_DIR) -> None:
    """Compose `conf/config.yaml` with command-line `overrides` as Hydra will (each value of a choice/range sweep
    once) and validate the result; raise `ConfigError` with a one-line explanation on the first mistake."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as ex:
        raise ConfigError(f"cannot parse the overrides: {str(ex).splitlines()[0]}") from None
    # hydra's own settings (launcher, sweeper params, dirs) are Hydra's business
    parsed = [o for o in parsed if not o.key_or_group.startswith("hydra")]
    for o in parsed:
        check_not_model_group(o.key_or_group.lstrip("+~"))
    first = [_override_text(o, _first(o)) if o.is_sweep_override() else o.input_line for o in parsed
             if not o.is_sweep_override() or _first(o) is not None]
    # one composition per value of a swept *group* (method=mle,seqgan); values of swept keys (seed=1,2,3) are
    # checked on the composed config without composing again
    variants: list[list[str]] = [first]
    extra_values: list[tuple[str, str]] = []
    for o in parsed:
        if not o.is_sweep_override() or _first(o) is None:
            continue
        values = list(o.sweep_string_iterator())[1:]
        if _is_group(o.key_or_group, config_dir):
            variants += [[_override_text(p, v) if p is o else t for p, t in zip(_kept(parsed), first)]
                         for v in values]
        else:
            extra_values += [(o.key_or_group, v) for v in values]
    for i, variant in enumerate(variants):
        try:
            cfg = _compose(variant, config_dir)
        except Exception as ex:
            raise ConfigError(_explain(ex, variant, config_dir)) from None
        validate_config(cfg)
        if i == 0:
            for key, text in extra_values:
                value = yaml.safe_load(text)
                trial = cfg.copy()
                OmegaConf.update(trial, key, value, force_add=True)
                validate_config(trial)


MODEL_SLOTS = ("generator", "discriminator", "critic")


def check_not_model_group(key: str) -> None:
    """`model=...` and `model.<slot>.<key>=...` were the spellings before each method config named its networks;
    say the new one (`method.<slot>.<key>`, or `model/<slot>@method.<slot>=<option>` for another network)."""
    if key == "model":
        raise ConfigError("model=... is gone: each method config names its networks (method.generator, "
                          "method.discriminator, method.critic); pick another one with "
                          "model/generator@method.generator=<option> (options: conf/model/generator/)")
    head, _, rest = key.partition(".")
    if head == "model" and rest:
        new = f"method.{rest}" if rest.partition(".")[0] in MODEL_SLOTS else "method.generator.<key>"
        raise ConfigError(f"{key}: the networks are part of the method now; write {new}=...")


def _first(o) -> str | None:
    try:
        return next(iter(o.sweep_string_iterator()))
    except Exception:  # interval()/tag sweeps of a sweeper: the sweeper checks them
        return None


def _kept(parsed: list) -> list:
    return [o for o in parsed if not o.is_sweep_override() or _first(o) is not None]


def _is_group(key: str, config_dir: Path) -> bool:
    return "/" in key or (config_dir / key.split("@")[0]).is_dir()
