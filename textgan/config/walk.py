"""The one walk of a composed config, and the value of one key as the checks read it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException


def resolved_value(node: DictConfig, key: str) -> tuple[bool, Any]:
    """(True, the resolved plain value) or (False, None) for an interpolation that resolves only inside a job."""
    try:
        value = node[key]
        return True, OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
    except OmegaConfBaseException:
        return False, None


def entries(node: DictConfig, path: str = "") -> Iterator[tuple[str, DictConfig, str]]:
    """(dotted path, node, key) of every key under `node`, in key order, depth first: the one walk of a composed
    config. It descends into the nodes that are set (not null, `???` or an interpolation, which may resolve only
    inside a job), never into Hydra's own `hydra` node."""
    for key in node:
        if key == "hydra":
            continue
        name = f"{path}.{key}" if path else str(key)
        yield name, node, key
        sub = node._get_node(key)
        if isinstance(sub, DictConfig) and not sub._is_none() and not sub._is_missing() \
                and not sub._is_interpolation():
            yield from entries(sub, name)


def target_nodes(cfg: DictConfig) -> Iterator[tuple[str, DictConfig]]:
    """(dotted path, node) of every node with a `_target_` under `cfg` (a `_partial_` one too), outermost first."""
    for path, node, key in entries(cfg):
        sub = node._get_node(key)
        if isinstance(sub, DictConfig) and not sub._is_none() and not sub._is_missing() \
                and not sub._is_interpolation() and "_target_" in sub:
            yield path, sub
