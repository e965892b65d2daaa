"""`textgan.optim`: optimisers as `_partial_` config nodes. The constructors' default factories are the configs'
optimisers (the Python API trains like `run.py`), and the factories' settings are plain Python, so optimiser
states in checkpoints load with `weights_only=True`."""

from __future__ import annotations

import functools
import inspect
import io

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from textgan.config.validate import group_options
from textgan.errors import ConfigError
from textgan.optim import adam, check_optimizer, is_optimizer_parameter, plain

from conftest import compose_config


def _param_groups(factory) -> list[dict]:
    opt = factory([torch.nn.Parameter(torch.zeros(2))])
    return [{k: v for k, v in g.items() if k != "params"} for g in opt.state_dict()["param_groups"]]


@pytest.mark.parametrize("method", group_options("method"))
def test_constructor_defaults_are_the_configs_optimisers(method, tmp_path):
    data = ["data=dialogue"] if method in ("seq2seq", "dialogue_seqgan", "dialogue_rl") else []
    cfg = compose_config([f"method={method}", *data], tmp_path)
    node = cfg.method
    cls = instantiate({"_target_": "hydra.utils.get_class", "path": node._target_})
    params = inspect.signature(cls.__init__).parameters
    slots = [k for k in node if is_optimizer_parameter(k)]
    assert slots and set(slots) == {k for k in params if is_optimizer_parameter(k)}
    for slot in slots:
        from_config = plain(instantiate(node[slot]))
        default = params[slot].default
        assert isinstance(from_config, functools.partial) and from_config.func is default.func, slot
        assert _param_groups(from_config) == _param_groups(default), slot


def test_plain_settings_let_an_optimiser_state_load_with_weights_only(tmp_path):
    node = compose_config(["method=wgan_gp"], tmp_path).method.critic_optimizer  # betas: an interpolated list
    raw, converted = instantiate(node), plain(instantiate(node))
    assert type(raw.keywords["betas"]).__name__ == "ListConfig"  # what Hydra passes
    assert converted.keywords == {"lr": 1e-4, "betas": (0.5, 0.9)} and type(converted.keywords["betas"]) is tuple
    buffer = io.BytesIO()
    torch.save(converted([torch.nn.Parameter(torch.zeros(2))]).state_dict(), buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True)["param_groups"][0]["betas"] == (0.5, 0.9)


def test_out_of_range_or_mistyped_settings_are_one_line_errors():
    with pytest.raises(ConfigError, match=r"^method.d_optimizer.lr=-1 is out of range; give a number >= 0$"):
        check_optimizer(adam(lr=-1), "method.d_optimizer")
    with pytest.raises(ConfigError, match=r"^'method.optimizer.weight_decay' must be float, got 'x' \(str\)$"):
        check_optimizer(OmegaConf.create({"lr": 0.1, "weight_decay": "x"}), "method.optimizer")
    check_optimizer(adam(lr=0.0), "method.optimizer")  # 0 freezes: valid
