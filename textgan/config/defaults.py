"""Every default written once: in the constructor's signature, read from there into the composed config.

A method config (`conf/method/<name>.yaml`) or a network config (`conf/model/<slot>/<name>.yaml`) names its
`_target_` and what differs from the constructor's defaults (the networks, `seq_len`, an interpolation); its
defaults list starts with

    - optional /constructor/method@_here_: <name>          (a network: /constructor/model/<slot>@_here_)

the config node of the defaults of `_target_`'s constructor (`defaults_node`), which `register` stores in
Hydra's ConfigStore as `constructor/<group>/<name>`. So the composed config holds every setting (`--cfg job` shows
them, `method.<key>=...` overrides them without `+`, the config checks see them), and the value is the one in
the signature, where the ranges are declared too (`textgan.ranges`). textgan's entry points register before
Hydra composes (`textgan.cli.train`, `textgan.config.compose`); an app of one's own over textgan's `conf/` calls
`register(conf_dir)` first (without it the configs still compose, and the settings they do not name take the
signature's defaults when the object is built).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from pathlib import Path
from typing import Any

import yaml

# the config groups whose options take their defaults from their `_target_`
GROUPS = ("method", "model/generator", "model/discriminator", "model/critic")
# what the vocabulary fixes: the method passes it when it builds its networks, so it is no setting
VOCABULARY_IDS = ("pad_id", "eos_id", "bos_id")
_registered: set[tuple[Path, str]] = set()


def _plain(value: Any) -> Any:
    """`value` as config data: tuples as lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def factory_node(factory: functools.partial) -> dict[str, Any]:
    """The `_partial_` node of a factory such as `textgan.optim.adam(lr=0.01)`: its `_target_` (a `torch.optim`
    class by its public name), the learning rate, and every other keyword that differs from the class's own
    default (so that another `_target_` can take the node's remaining settings)."""
    func = factory.func
    import torch.optim

    public = getattr(torch.optim, func.__name__, None) is func
    node: dict[str, Any] = {"_target_": f"torch.optim.{func.__name__}" if public
                            else f"{func.__module__}.{func.__qualname__}", "_partial_": True}
    own = inspect.signature(func).parameters
    for key, value in factory.keywords.items():
        default = own[key].default if key in own else inspect.Parameter.empty
        if key == "lr" or _plain(value) != _plain(default):
            node[key] = _plain(value)
    return node


def defaults_node(target: type) -> dict[str, Any]:
    """`{_target_, <parameter>: <default>}` of `target`'s constructor: every parameter with a default, but a
    settings dataclass (its own config group, e.g. `conf/decoding/`) and the vocabulary's ids; factories as their
    `_partial_` nodes."""
    node: dict[str, Any] = {"_target_": f"{target.__module__}.{target.__qualname__}"}
    for name, parameter in inspect.signature(target).parameters.items():
        default = parameter.default
        if default is inspect.Parameter.empty or dataclasses.is_dataclass(default) or name in VOCABULARY_IDS:
            continue
        node[name] = factory_node(default) if isinstance(default, functools.partial) else _plain(default)
    return node


def register(conf_dir: Path) -> None:
    """Store `constructor/<group>/<name>` in Hydra's ConfigStore for every `conf_dir/<group>/<name>.yaml` of
    `GROUPS` (once per folder). A `_target_` that does not import is left to the config checks, which name it."""
    from hydra.core.config_store import ConfigStore
    from hydra.utils import get_object

    store = ConfigStore.instance()
    for group in GROUPS:
        if (Path(conf_dir), group) in _registered:
            continue
        for file in sorted((Path(conf_dir) / group).glob("*.yaml")):
            target = (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("_target_")
            try:
                cls = get_object(target)
            except Exception:
                continue
            store.store(group=f"constructor/{group}", name=file.stem, node=defaults_node(cls), provider="textgan")
        _registered.add((Path(conf_dir), group))
