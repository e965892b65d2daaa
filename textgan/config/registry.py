"""The one registry of what may be built from a file: the classes textgan's own `conf/` names.

`options(group)` reads `conf/<group>/**/*.yaml` as YAML (nothing is instantiated) and maps each `_target_` to the
options that build it; `targets(group)` is the set of those classes. A checkpoint's stored config may build a
method only of `targets("method")`, networks only of `targets("model")`, settings only of `targets("decoding")` /
`targets("simulation")`, data only of `targets("data")` (`textgan.runs.checkpoint`, `textgan.cli.evaluate`).
A new class becomes buildable from a checkpoint by adding its config to `conf/`, nowhere else. The metric classes
and optimisers are the core's own declarations (`textgan.metrics.build.METRICS`, `textgan.optim.OPTIMIZERS`).
"""

from __future__ import annotations

import importlib
from functools import cache

import yaml

from textgan.config.compose import CONF_DIR


@cache
def options(group: str) -> dict[str, list[str]]:
    """{`_target_`: [option names]} of `conf/<group>/` and its subfolders (`model/generator/lstm.yaml`: `lstm`)."""
    found: dict[str, list[str]] = {}
    for file in sorted((CONF_DIR / group).rglob("*.yaml")):
        doc = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        node = doc if "_target_" in doc else doc.get(group, doc)  # `@package _global_` files nest it
        if isinstance(node, dict) and isinstance(node.get("_target_"), str):
            found.setdefault(node["_target_"], []).append(file.stem)
    return found


def targets(group: str) -> frozenset[str]:
    """The classes the options of `conf/<group>/` build."""
    return frozenset(options(group))


def option_name(group: str, target: str) -> str:
    """`method=seqgan` for SeqGAN's `_target_` (`group=<class name>` for a class no option builds)."""
    return f"{group}={'|'.join(options(group).get(target, [target.rsplit('.', 1)[-1]]))}"


def import_target(target: str) -> type:
    """The class of a registered `_target_` (the caller checks it is in `targets(group)` first)."""
    module, name = target.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)
