"""Optimisers as factories: a method is given `params -> torch.optim.Optimizer`, not a learning rate.

The configs spell each optimiser as a `_partial_` Hydra node, the lightning-hydra-template's convention:

    g_optimizer:
      _target_: torch.optim.Adam
      _partial_: true
      lr: 1.0e-4
      betas: [0.5, 0.9]

which `hydra.utils.instantiate` turns into `functools.partial(torch.optim.Adam, lr=1e-4, betas=[0.5, 0.9])`; the
method calls it on its parameters in `configure_optimizers`. Constructor parameters that take one are named
`optimizer` or `<role>_optimizer` (`g_optimizer`, `d_optimizer`, ...) and are left out of `save_hyperparameters`
(the run config in the checkpoint keeps their settings). Without Hydra, `adam(lr=...)` builds the same factory,
so `MLE(vocab, generator, seq_len, optimizer=adam(lr=0.01))` trains exactly like the config.

`OPTIMIZERS` names the optimisers a config (and a checkpoint, `textgan.runs.checkpoint`) may use;
`check_optimizer` gives their learning rate and decay the same one-line range errors as every other setting
(`textgan.ranges`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from textgan.errors import ConfigError
from textgan.ranges import NonNegativeFloat, check_arguments

if TYPE_CHECKING:
    import torch

# params -> optimiser (string annotations: this module is read by the config checks, before torch is imported)
OptimizerFactory = Callable[[Iterable["torch.nn.Parameter"]], "torch.optim.Optimizer"]

# `_target_` of an optimiser node -> its class name in `torch.optim`: the only optimisers a checkpoint may name
OPTIMIZERS: dict[str, str] = {
    "torch.optim.Adam": "Adam",
    "torch.optim.AdamW": "AdamW",
    "torch.optim.SGD": "SGD",
    "torch.optim.RMSprop": "RMSprop",
}


def optimizer_class(target: str) -> type:
    """The `torch.optim` class of an allowed `_target_` (a key of `OPTIMIZERS`)."""
    import torch

    return getattr(torch.optim, OPTIMIZERS[target])


def is_optimizer_parameter(name: str) -> bool:
    """Whether a method's constructor parameter `name` takes an `OptimizerFactory` (the naming convention)."""
    return name == "optimizer" or name.endswith("_optimizer")


def adam(lr: float = 1e-3, betas: Sequence[float] = (0.9, 0.999)) -> OptimizerFactory:
    """`torch.optim.Adam` with `lr` and `betas` (Kingma & Ba 2015), as a factory of a parameter list."""
    import torch

    return functools.partial(torch.optim.Adam, lr=lr, betas=tuple(float(b) for b in betas))


def _settings(lr: NonNegativeFloat = 1e-3, weight_decay: NonNegativeFloat = 0.0,
              momentum: NonNegativeFloat = 0.0) -> None:
    """The ranges of the settings every optimiser of `OPTIMIZERS` shares (read by `check_arguments`)."""


def check_optimizer(settings: Mapping[str, Any] | OptimizerFactory, where: str) -> None:
    """Raise `ConfigError` (one line, e.g. `method.optimizer.lr=-0.1 is out of range; give a number >= 0`) when
    the learning rate, weight decay or momentum of `settings` (a config node's values or a `functools.partial`)
    is not a number or out of range."""
    values = settings.keywords if isinstance(settings, functools.partial) else settings
    if not isinstance(values, Mapping):
        return
    shared = {k: values[k] for k in ("lr", "weight_decay", "momentum") if k in values}
    for key, value in shared.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"'{where}.{key}' must be float, got {value!r} ({type(value).__name__})")
    check_arguments(_settings, shared, where)


def check_optimizers(arguments: Mapping[str, Any], prefix: str = "method") -> None:
    """`check_optimizer` on every optimiser argument of a method (`arguments`: its constructor's `locals()`)."""
    for name, value in arguments.items():
        if is_optimizer_parameter(name) and value is not None:
            check_optimizer(value, f"{prefix}.{name}")


def plain(factory: OptimizerFactory) -> OptimizerFactory:
    """`factory` with plain Python settings. Hydra passes lists as `ListConfig`; an optimiser that keeps a setting
    as given (older torch releases' Adam keeps `betas`) would put it in its `param_groups`, so in checkpoints,
    which `weights_only` loading refuses."""
    if not isinstance(factory, functools.partial):
        return factory
    from omegaconf import DictConfig, ListConfig, OmegaConf

    def convert(value: Any) -> Any:
        return OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value

    keywords = {k: tuple(v) if isinstance(v, ListConfig) and k == "betas" else convert(v)
                for k, v in factory.keywords.items()}
    return functools.partial(factory.func, *map(convert, factory.args), **keywords)
