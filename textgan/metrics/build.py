"""The run's metrics, built from the `metrics:` config and what the data module provides: `build_metrics`.

A `metrics:` node maps a name to one metric node (`conf/metrics/<data>.yaml`, chosen with the data):

    metrics:
      nll_test: {_target_: textgan.metrics.objects.NLLTest}
      bleu: {_target_: textgan.metrics.objects.BLEU, ns: [2, 3, 4, 5], num_samples: 1000}

Each `_target_` must be one of `METRICS`, the public metric classes of `textgan.metrics.objects` (the same
allow-list rule as `textgan.runs.checkpoint`:
`textgan.cli.evaluate` builds the metrics of a checkpoint's stored config, and nothing a file names is instantiated
beyond what textgan names).
The node's other keys are plain settings. textgan supplies the rest: `vocab` and `seq_len` (the method's), and
every name in the class's `needs` from the data module, which declares what it has in `eval_provides` (e.g. the
oracle data module: `oracle`; the text corpora: `test_references`; the grammar data: `train_strings`). A metric
whose needs the data does not provide is a user's mistake, refused in one line before any data is built
(`check_metrics`, called by `textgan.config.checks`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from torchmetrics import Metric

from textgan.errors import ConfigError, plain_data_problem
from textgan.metrics import objects

# `_target_` -> class: the only metric classes a config (or a checkpoint's config) may name
METRICS: dict[str, type[Metric]] = {
    f"{objects.__name__}.{name}": cls for name, cls in vars(objects).items()
    if inspect.isclass(cls) and issubclass(cls, Metric) and cls.__module__ == objects.__name__
    and not name.startswith("_")
}
SUPPLIED = ("vocab", "seq_len")  # passed by textgan, never set in a config
# what a method feeds a metric (its `inputs`), by the kind of data (a data module's `provides_data`)
INPUTS_OF_DATA = {"sequences": ("heldout", "samples"), "pairs": ("heldout", "responses")}


def metric_class(target: Any, where: str) -> type[Metric]:
    """The allow-listed class of a metric node's `_target_`, or a one-line error naming the choices."""
    if not isinstance(target, str) or target not in METRICS:
        raise ConfigError(f"{where}._target_={target!r} is not a textgan metric; choose one of "
                          f"{', '.join(sorted(METRICS))}")
    return METRICS[target]


def _nodes(metrics_cfg: Mapping | None) -> dict[str, dict]:
    """`{name: plain dict}` of the metric nodes, null entries (`metrics.bleu=null` turns one off) left out."""
    if metrics_cfg is None:
        return {}
    if hasattr(metrics_cfg, "_metadata"):  # an OmegaConf node
        from omegaconf import OmegaConf

        metrics_cfg = OmegaConf.to_container(metrics_cfg, resolve=True)
    if not isinstance(metrics_cfg, Mapping):
        raise ConfigError(f"metrics must map names to metric nodes, got a {type(metrics_cfg).__name__}")
    nodes = {}
    for name, node in metrics_cfg.items():
        if node is None:
            continue
        if not isinstance(node, Mapping) or "_target_" not in node:
            raise ConfigError(f"metrics.{name} must be a node with a _target_ (or null to turn it off)")
        nodes[str(name)] = dict(node)
    return nodes


def check_metrics(metrics_cfg: Mapping | None, data_class: type | None) -> None:
    """Every metric node names an allow-listed class, only settings that class has, and needs only what the data
    module class provides (its `eval_provides`); else one line naming the problem and the fix."""
    provides = set(getattr(data_class, "eval_provides", ())) if data_class is not None else None
    for name, node in _nodes(metrics_cfg).items():
        where = f"metrics.{name}"
        cls = metric_class(node.get("_target_"), where)
        params = inspect.signature(cls.__init__).parameters
        for key in node:
            if key == "_target_":
                continue
            if key not in params or key in SUPPLIED or key in cls.needs or key == "self":
                settings = [p for p in params if p not in ("self", *SUPPLIED, *cls.needs)]
                raise ConfigError(f"{where}.{key} is not a setting of {cls.__name__} (settings: "
                                  f"{', '.join(settings) or 'none'})")
            problem = plain_data_problem(node[key], f"{where}.{key}")
            if problem:
                raise ConfigError(f"{problem}; a metric setting is plain data, textgan builds nothing from it")
        kind = getattr(data_class, "provides_data", None)
        if kind in INPUTS_OF_DATA and cls.inputs not in INPUTS_OF_DATA[kind]:
            scored = {"samples": "generated sequences", "responses": "responses to contexts"}[cls.inputs]
            raise ConfigError(f"{where} ({cls.__name__}) scores {scored}, which {data_class.__name__} does not "
                              f"give; remove it with {where}=null")
        missing = [n for n in cls.needs if provides is not None and n not in provides]
        if missing:
            raise ConfigError(f"{where} ({cls.__name__}) needs the data's {missing[0]}, which "
                              f"{data_class.__name__} does not provide; remove it with {where}=null or choose "
                              f"data that has it")


def build_metrics(metrics_cfg: Mapping | None, datamodule, vocab, seq_len: int) -> dict[str, Metric]:
    """`{name: Metric}` for every node of `metrics_cfg` (see the module docstring), from a set-up `datamodule`."""
    check_metrics(metrics_cfg, type(datamodule))
    built = {}
    for name, node in _nodes(metrics_cfg).items():
        cls = metric_class(node.pop("_target_"), f"metrics.{name}")
        params = inspect.signature(cls.__init__).parameters
        supplied = {k: v for k, v in (("vocab", vocab), ("seq_len", seq_len)) if k in params}
        provided = {k: getattr(datamodule, k) for k in cls.needs}
        try:
            built[name] = cls(**supplied, **provided, **node)
        except (TypeError, ValueError) as ex:
            first = (str(ex).strip().splitlines() or [""])[0]
            raise ConfigError(f"metrics.{name} does not build a {cls.__name__} ({type(ex).__name__}: {first})") \
                from None
    return built
