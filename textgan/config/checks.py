"""Checks of a composed run config that must fail before any work (no data built, no process started):

- `check_missing`: a mandatory value (`???`, e.g. `data.path` of `data=text_file`) that was not given;
- `check_ranges`: every value of a `_target_` node against the range its class declares (`textgan.ranges`), and
  the top-level values in `TOP_LEVEL_RANGES`;
- `check_pairing`: the method's `needs_data` against the data module's `provides_data` (a dialogue method on
  unconditional sequences, or a sequence GAN on (context, response) pairs, is refused naming the valid pairings);
- `check_metrics_pairing`: every `metrics:` node against the data module (an allow-listed metric class, only its
  own settings, and only what the data's `eval_provides` offers, e.g. NLL-oracle needs an oracle);

`preflight(cfg)` runs them all; `textgan.config.validate.validate_config` calls it, so both `run.py` (before
Hydra starts the job) and `train()` check. `check_devices(cfg)` needs what the config alone does not say: `train()`
calls it on the machine that runs the job, before any data or process (a sweep submitted to SLURM from a machine
without GPUs must pass): `trainer.devices` against the CPU cores / GPUs that exist, and a data-parallel strategy
when there is more than one device. The output dir is checked by the train app (`textgan.cli.train`), the
checkpoint's fit by the checkpoint module (`textgan.runs.checkpoint.check_checkpoint`).
"""

from __future__ import annotations

import os

from hydra.utils import get_object
from omegaconf import DictConfig

from textgan.config.registry import option_name, options
from textgan.config.walk import entries, resolved_value, target_nodes
from textgan.errors import ConfigError
from textgan.optim import OPTIMIZERS, check_optimizer
from textgan.ranges import PositiveInt, check_arguments, check_value

TOP_LEVEL_RANGES = {"eval_every": PositiveInt, "num_threads": PositiveInt}
DATA_KINDS = {"sequences": "unconditional token sequences", "pairs": "(context, response) pairs"}
DATA_PARALLEL_CONFIGS = "trainer=ddp (trainer=ddp_spawn inside a multirun)"


def check_missing(cfg: DictConfig) -> None:
    missing = [path for path, node, key in entries(cfg) if node._get_node(key)._is_missing()]
    if missing:
        raise ConfigError(f"{missing[0]} is required (it is ??? in the config); give it on the command line: "
                          f"{missing[0]}=...")


def check_ranges(cfg: DictConfig) -> None:
    for key, annotation in TOP_LEVEL_RANGES.items():
        value = resolved_value(cfg, key)[1] if key in cfg else None
        if value is not None:
            check_value(key, value, annotation)
    for path, node in target_nodes(cfg):
        try:
            target = get_object(node._target_)
        except Exception:  # validate_config reports targets that cannot be imported
            continue
        settings = {k: resolved_value(node, k)[1] for k in node if isinstance(k, str)}
        check_arguments(target, settings, path)
        if node._target_ in OPTIMIZERS:  # torch declares no ranges: learning rate, decay, momentum >= 0
            check_optimizer(settings, path)


def valid_pairings() -> str:
    """`method=a|b with data=c|d; ...`: which method options train on which data options."""
    def kinds(group: str, attribute: str) -> dict[str, list[str]]:
        by_kind: dict[str, list[str]] = {}
        for target, names in options(group).items():
            try:
                kind = getattr(get_object(target), attribute, None)
            except Exception:
                continue
            if kind is not None:
                by_kind.setdefault(kind, []).extend(names)
        return by_kind

    methods, data = kinds("method", "needs_data"), kinds("data", "provides_data")
    return "; ".join(f"method={'|'.join(sorted(methods[k]))} with data={'|'.join(sorted(data[k]))}"
                     for k in DATA_KINDS if k in methods and k in data)


def check_pairing(cfg: DictConfig) -> None:
    method, data = cfg.get("method"), cfg.get("data")
    if not isinstance(method, DictConfig) or not isinstance(data, DictConfig) \
            or "_target_" not in method or "_target_" not in data:
        return
    try:
        needs = getattr(get_object(method._target_), "needs_data", None)
        provides = getattr(get_object(data._target_), "provides_data", None)
    except Exception:
        return  # config_validation reports targets that cannot be imported
    if needs is None or provides is None or needs == provides:
        return
    raise ConfigError(f"{option_name('method', method._target_)} trains on {DATA_KINDS[needs]}, but "
                      f"{option_name('data', data._target_)} provides {DATA_KINDS[provides]}; valid pairings: "
                      f"{valid_pairings()}")


def _cpu_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def check_devices(cfg: DictConfig) -> None:
    trainer = cfg.get("trainer")
    if not isinstance(trainer, DictConfig):
        return
    accelerator = str(resolved_value(trainer, "accelerator")[1] or "auto")
    devices, strategy = resolved_value(trainer, "devices")[1], str(resolved_value(trainer, "strategy")[1] or "auto")
    if accelerator not in ("auto", "cpu", "gpu", "cuda"):
        return  # tpu / mps / a custom accelerator: Lightning checks those
    import torch

    gpus = torch.cuda.device_count() if accelerator != "cpu" else 0
    if accelerator in ("gpu", "cuda") and gpus == 0:
        raise ConfigError(f"trainer.accelerator={accelerator}: no CUDA GPU is visible on this machine; "
                          "use trainer=cpu")
    on_cpu = accelerator == "cpu" or gpus == 0
    available = _cpu_cores() if on_cpu else gpus
    where = f"{available} CPU core(s) and no GPU" if on_cpu else f"{available} GPU(s)"
    if isinstance(devices, bool) or not isinstance(devices, (int, list)):
        return  # "auto" or a string Lightning parses
    count = len(devices) if isinstance(devices, list) else available if devices == -1 else devices
    if isinstance(devices, int) and (devices == 0 or devices < -1):
        raise ConfigError(f"trainer.devices={devices} is out of range; give a number of devices >= 1 (or -1: all)")
    if count > available:
        raise ConfigError(f"trainer.devices={devices}: this machine has {where}; use trainer.devices<={available}"
                          + ("" if on_cpu else " or trainer=cpu"))
    if count > 1 and strategy == "auto":
        raise ConfigError(f"trainer.devices={devices} needs a data-parallel strategy that allows the unused "
                          f"parameters of GAN steps: use {DATA_PARALLEL_CONFIGS}")


def check_metrics_pairing(cfg: DictConfig) -> None:
    """The `metrics:` nodes against the data module: allow-listed classes, their own settings, and nothing the
    data does not provide (`textgan.metrics.build.check_metrics`)."""
    from textgan.metrics.build import check_metrics

    metrics, data = cfg.get("metrics"), cfg.get("data")
    if not isinstance(metrics, DictConfig):
        return
    try:
        data_class = get_object(data._target_) if isinstance(data, DictConfig) and "_target_" in data else None
    except Exception:
        data_class = None  # config_validation reports targets that cannot be imported
    check_metrics(metrics, data_class)


def preflight(cfg: DictConfig) -> None:
    """Raise `ConfigError` (one line) for the first mistake above; nothing is built or started."""
    check_missing(cfg)
    check_ranges(cfg)
    check_pairing(cfg)
    check_metrics_pairing(cfg)
