"""Config mistakes as one-line errors: unknown option of a group, unknown key, wrong type or value.

- `validate_config(cfg)` checks a composed config against the code, generically: every node with a `_target_`
  (a `_partial_` one too) is checked against the signature of the callable it names, the top-level settings
  against the `RunSettings` dataclass, in the same way: a key must be a parameter, a value must fit the
  parameter's annotation (int, float, bool, str, lists, `Literal[...]` choices, unions of those); then
  `textgan.config.checks` (missing values, ranges, method/data pairing). `train()` runs it, so every way into a run
  (`run.py`, `-m` jobs, tests, the Python API) is checked the same.
- `check_overrides(overrides)` composes a command line as Hydra will (each value of a swept group once) and
  validates the result, so that `run.py` can refuse a mistake before Hydra creates a run dir; Hydra's own
  composition errors become one line from the exception's fields (`MissingConfigException.options`, the
  OmegaConf error's `full_key`), with a "did you mean" from `difflib`.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from textgan.config.compose import CONF_DIR, compose
from textgan.config.walk import resolved_value, target_nodes
from textgan.errors import HYDRA_KEYS, ConfigError


@dataclasses.dataclass
class RunSettings:
    """The types of the top-level settings of `conf/config.yaml` (their values live there; the config groups are
    checked by their `_target_`s). A schema only: never built."""

    sweep_name: str
    seed: int | None
    test: bool
    ckpt_path: str | None
    num_threads: int | None
    keep_freed_memory: bool
    eval_every: int
    optimized_metric: str
    optimized_mode: Literal["min", "max"]


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def group_options(group: str, config_dir: Path = CONF_DIR) -> list[str]:
    """The options of config group `group` (e.g. "method" -> ["mle", "seqgan"]), from `conf/<group>/*.yaml`."""
    return sorted(p.stem for p in (config_dir / group).glob("*.yaml"))


# ---------------------------------------------------------------------------------------------- composed config
def _accepts(annotation: Any, value: Any) -> bool | None:
    """True/False when `annotation` can be checked against `value`; None when it cannot (then it is accepted)."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return str(value) in [str(a) for a in typing.get_args(annotation)]
    if origin in (typing.Union, types.UnionType):
        verdicts = [_accepts(a, value) for a in typing.get_args(annotation)]
        return True if any(verdicts) else None if None in verdicts else False
    if annotation is type(None):
        return value is None
    if dataclasses.is_dataclass(annotation):  # settings (e.g. `DecodingSettings`): a node of their fields
        return isinstance(value, dict)
    base, number = origin or annotation, isinstance(value, (int, float)) and not isinstance(value, bool)
    checks = {bool: isinstance(value, bool), int: number and isinstance(value, int), float: number,
              str: isinstance(value, str), dict: isinstance(value, dict)}
    if base in checks:
        return checks[base]
    if base in (list, tuple, Sequence):
        return isinstance(value, (list, tuple))
    return None  # a tensor, a module, another library's type: instantiate or the constructor checks it


def _describe(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if annotation is type(None):
        return "null"
    if dataclasses.is_dataclass(annotation):
        return f"a node of {annotation.__name__} ({', '.join(f.name for f in dataclasses.fields(annotation))})"
    return str(annotation).replace("typing.", "") if args else getattr(annotation, "__name__", str(annotation))


def _parameters(fn: Callable) -> tuple[dict[str, Any], bool] | None:
    """({parameter: annotation}, takes **kwargs) of `fn` (a class: its constructor); None without a signature."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have none: nothing to check
        return None
    try:
        hints = typing.get_type_hints(fn.__init__ if inspect.isclass(fn) else fn)
    except Exception:  # forward references we cannot resolve: check names only
        hints = {}
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    named = {n: hints.get(n, p.annotation) for n, p in signature.parameters.items() if p.kind not in kinds}
    return named, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())


def _check_keys(node: DictConfig, fn: Callable, what: str, path: str, only: set[str] | None = None) -> None:
    """Every key of `node` (or of `only` among them) must be a parameter of `fn` (unless it takes **kwargs), and
    each value fit the parameter's annotation."""
    found = _parameters(fn)
    if found is None:
        return
    params, var_kw = found
    for key in node:
        if key in HYDRA_KEYS or (only is not None and key not in only):
            continue
        name = f"{path}.{key}" if path else str(key)
        if key not in params:
            if var_kw:
                continue
            valid = sorted(params)
            raise ConfigError(f"unknown key '{name}' for {what}{_did_you_mean(key, valid)}; "
                              f"valid keys: {', '.join(valid)}")
        sub = node._get_node(key)
        if isinstance(sub, DictConfig) and "_target_" in sub:
            continue  # a nested object: checked against its own callable
        ok, value = resolved_value(node, key)
        if ok and params[key] is not inspect.Parameter.empty and _accepts(params[key], value) is False:
            raise ConfigError(f"'{name}' must be {_describe(params[key])}, got {value!r} ({type(value).__name__})")


def validate_config(cfg: DictConfig) -> None:
    """Raise `ConfigError` (one line) when `cfg` has an unknown key, a wrong type or an invalid choice, or fails
    `textgan.config.checks` (a missing value, a value out of range, a method/data pairing that does not fit)."""
    # the other top-level keys are config groups, checked by their `_target_`s
    _check_keys(cfg, RunSettings, "the run", "", only={f.name for f in dataclasses.fields(RunSettings)})
    for path, node in target_nodes(cfg):
        try:
            fn = get_object(node._target_)
        except Exception as ex:
            raise ConfigError(f"{path}._target_: cannot import '{node._target_}' ({ex}); check the name") from None
        _check_keys(node, fn, node._target_, path)
    from textgan.config.checks import preflight

    preflight(cfg)  # ranges, method/data pairing: the checks that need the types to be right first


# ---------------------------------------------------------------------------------------------- overrides
def _is_group(key: str, config_dir: Path) -> bool:
    return "/" in key or (config_dir / key.split("@")[0]).is_dir()


def _explain(ex: Exception, parsed: list, config_dir: Path) -> str:
    """One line for Hydra's composition error `ex` of the overrides `parsed`, from the exception's fields."""
    if isinstance(ex, MissingConfigException) and "/" in (ex.missing_cfg_file or ""):
        group, option = ex.missing_cfg_file.rsplit("/", 1)
        if group.startswith("hydra/"):
            return (f"{group}={option}: not available; the Optuna sweeper and the SLURM launcher come with "
                    f"`pip install -e \".[sweep]\"`")
        options = sorted(ex.options or group_options(group, config_dir))
        return (f"{group}={option}: unknown option of group '{group}'{_did_you_mean(option, options)}; "
                f"choose one of: {', '.join(options)}")
    try:  # the config of the same group choices, without the overrides of keys
        base = compose([o.input_line for o in parsed if _is_group(o.key_or_group, config_dir)
                         and not o.is_add() and not o.is_delete()], config_dir)
    except HydraException:
        base = None
    cause = ex.__cause__
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and cause.full_key:  # a key not in the config
        key = cause.full_key
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(base, parent) if parent and base is not None else base
        valid = sorted(str(k) for k in node if k not in HYDRA_KEYS and k != "hydra") \
            if isinstance(node, DictConfig) else []
        hint = f"; valid keys{' under ' + repr(parent) if parent else ''}: {', '.join(valid)}" if valid else ""
        return f"unknown config key '{key}'{_did_you_mean(leaf, valid)}{hint} (add a new key with +{key}=...)"
    added = [o.key_or_group for o in parsed if o.is_add() and base is not None
             and OmegaConf.select(base, o.key_or_group, throw_on_missing=False) is not None]
    if added:  # Hydra's "Could not append to config": `+key=` of a key that exists
        return f"'{added[0]}' exists already: set it with {added[0]}=... (not +{added[0]}=...)"
    return next((line.strip() for line in str(ex).splitlines() if line.strip()), type(ex).__name__)


def check_overrides(overrides: list[str], config_dir: Path = CONF_DIR) -> None:
    """Compose `conf/config.yaml` with command-line `overrides` as Hydra will (each value of a swept group once,
    each value of a swept key on the first composition) and validate the result; raise `ConfigError` with a
    one-line explanation on the first mistake."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as ex:
        raise ConfigError(f"cannot parse the overrides: {str(ex).splitlines()[0]}") from None
    # Hydra's own settings are Hydra's business; interval()/tag sweeps belong to a sweeper, which checks them
    parsed = [o for o in parsed if not o.key_or_group.startswith("hydra") and _values(o)]
    first = [f"{o.get_key_element()}={_values(o)[0]}" if o.is_sweep_override() else o.input_line for o in parsed]
    variants, key_values = [first], []
    for i, o in enumerate(parsed):
        for value in _values(o)[1:]:
            if _is_group(o.key_or_group, config_dir):
                variants.append([*first[:i], f"{o.get_key_element()}={value}", *first[i + 1:]])
            else:  # a value: checked on the first composition without composing again
                key_values.append((o.key_or_group, value))
    for n, variant in enumerate(variants):
        check_smoke_preset(dict(o.split("=", 1) for o in variant if "=" in o), config_dir)
        try:
            cfg = compose(variant, config_dir)
        except (HydraException, OmegaConfBaseException) as ex:
            raise ConfigError(_explain(ex, OverridesParser.create().parse_overrides(variant), config_dir)) from None
        validate_config(cfg)
        for key, text in key_values if n == 0 else []:
            trial = cfg.copy()
            OmegaConf.update(trial, key, yaml.safe_load(text), force_add=True)
            validate_config(trial)


def check_smoke_preset(choices: dict[str, str], config_dir: Path = CONF_DIR) -> None:
    """`experiment=smoke_<m>` holds toy sizes of method <m>; with another `method=`, name that method's preset
    (instead of the unknown-key error its sizes would give)."""
    preset, method = choices.get("experiment", ""), choices.get("method")
    if preset.startswith("smoke_") and method and preset != f"smoke_{method}":
        own = f"smoke_{method}" in group_options("experiment", config_dir)
        raise ConfigError(f"experiment={preset} holds the toy sizes of method={preset[6:]}, not of method={method}: "
                          + (f"use experiment=smoke_{method}" if own else "use debug=smoke (few batches, any method)"))


def _values(o: Any) -> list[str]:
    """The values of override `o` as text (one for a plain override); [] for a sweep only a sweeper expands."""
    if not o.is_sweep_override():
        return [o.input_line]
    try:
        return list(o.sweep_string_iterator())
    except Exception:  # interval() and tag sweeps: the sweeper expands them
        return []
