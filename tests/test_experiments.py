"""`conf/experiment/` presets: each composes and passes validation, and each holds exactly the settings of the
runner script (or runner config) of `experiments/<name>/` that it stands for."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import yaml
from omegaconf import OmegaConf

from textgan.config_validation import check_overrides, group_options, validate_config
from textgan.errors import ConfigError

from conftest import REPO, compose_config

CKPTS = ["method.pretrained_ckpt=mle.ckpt", "method.backward_ckpt=backward.ckpt"]
# what a preset must give (the ??? of the preset) before it composes into a runnable config
REQUIRED = {"dialogue_adver": CKPTS[:1], "dialogue_rl": CKPTS}
# the run settings compared between a preset and its runner (sweep_name and hydra: where the outputs go)
COMPARED = ("data", "method", "trainer", "callbacks", "logger", "eval_every", "num_threads", "test",
            "optimized_metric", "optimized_mode")


def _settings(overrides: list[str], tmp_path) -> dict:
    cfg = compose_config(overrides, tmp_path)
    return {k: OmegaConf.to_container(cfg, resolve=True)[k] for k in COMPARED}


def _runner(path: str):
    spec = importlib.util.spec_from_file_location(f"runner_{path.replace('/', '_')}", REPO / path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _runner_config(name: str) -> dict:
    return yaml.safe_load((REPO / "experiments" / name / "config.yaml").read_text())


@pytest.mark.parametrize("name", group_options("experiment"))
def test_every_preset_composes_and_passes_validation(name, tmp_path):
    cfg = compose_config([f"experiment={name}", *REQUIRED.get(name, [])], tmp_path)
    validate_config(cfg)
    if not name.startswith("smoke_"):  # a smoke run's sweeps share the default folder (tests/test_sweep.py)
        assert cfg.sweep_name != "sweep"  # a preset's sweeps get their own folder


# ---------------------------------------------------------------------------------------------- smoke presets
# (each one runs end to end in its method's tests: test_methods_smoke.py, test_gumbel.py, test_wgan_gp.py,
# test_dialogue_seqgan.py, test_dialogue_rl.py)
DEBUG_LIMITS = {"limit_train_batches": 4, "limit_val_batches": 2, "limit_test_batches": 2}


@pytest.mark.parametrize("method", group_options("method"))
def test_every_method_has_a_smoke_preset_of_that_method_under_debug_smoke(method, tmp_path):
    smoke = compose_config([f"experiment=smoke_{method}"], tmp_path / "smoke")
    plain = compose_config([f"method={method}", "debug=smoke"], tmp_path / "plain")
    assert smoke.method._target_ == plain.method._target_
    assert {k: smoke.trainer[k] for k in DEBUG_LIMITS} == DEBUG_LIMITS
    assert list(smoke.logger) == ["csv"] and smoke.trainer.accelerator == "cpu" and smoke.eval_every == 1
    assert smoke.method != plain.method  # toy sizes


def test_smoke_presets_are_the_only_toy_sizes_and_command_line_choices_win(tmp_path):
    assert sorted(n for n in group_options("experiment") if n.startswith("smoke_")) == \
        sorted(f"smoke_{m}" for m in group_options("method"))
    toy = compose_config(["experiment=smoke_mle"], tmp_path / "toy")
    assert (toy.data.vocab_size, toy.data.seq_len, toy.data.num_train, toy.data.num_test) == (50, 10, 128, 64)
    cfg = compose_config(["experiment=smoke_mle", "data=cfg"], tmp_path / "cfg")
    assert cfg.data._target_ == "textgan.data.cfg.CFGDataModule" and "cfg_validity" in cfg.metrics
    assert (cfg.method.epochs, cfg.method.num_eval_samples, cfg.data.batch_size) == (2, 64, 32)
    validate_config(cfg)
    # debug=smoke knows no method or data: it adds to any run (here a reproduction)
    wgan = compose_config(["experiment=wgan_char", "debug=smoke"], tmp_path / "wgan")
    validate_config(wgan)
    assert {k: wgan.trainer[k] for k in DEBUG_LIMITS} == DEBUG_LIMITS and wgan.method.generator.dim == 32


@pytest.mark.parametrize("overrides, message", [
    (["experiment=smoke_sqegan"], "experiment=smoke_sqegan: unknown option of group 'experiment' "
                                  "(did you mean smoke_seqgan?); choose one of: dialogue_adver, "),
    (["experiment=smoke_mle", "method=seqgan"],
     "experiment=smoke_mle holds the toy sizes of method=mle, not of method=seqgan: use experiment=smoke_seqgan"),
])
def test_a_smoke_preset_mistake_is_one_line(overrides, message):
    with pytest.raises(ConfigError) as info:
        check_overrides(overrides)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_gumbel_cfg_presets_are_the_runner_scripts_runs(tmp_path):
    runner = _runner("experiments/gumbel_cfg/run.py")
    runs = dict(runner.RUNS)
    assert _settings(["experiment=gumbel_cfg_mle"], tmp_path) == \
        _settings([*runner.COMMON, *runs["MLE (LSTM 32/64)"]], tmp_path)
    assert _settings(["experiment=gumbel_cfg"], tmp_path) == \
        _settings([*runner.COMMON, *runs["Gumbel GAN (soft)"]], tmp_path)
    assert _settings(["experiment=gumbel_cfg", "method.straight_through=true"], tmp_path) == \
        _settings([*runner.COMMON, *runs["Gumbel GAN (straight-through)"]], tmp_path)


def test_wgan_char_preset_is_the_runner_scripts_run(tmp_path):
    runner = _runner("experiments/wgan_char/run.py")
    scripted, data_name = runner.build_config(tmp_path)
    assert data_name == "char_text"
    assert _settings(["experiment=wgan_char"], tmp_path) == \
        {k: OmegaConf.to_container(scripted, resolve=True)[k] for k in COMPARED}


def test_dialogue_presets_are_the_runner_configs_runs(tmp_path):
    cfg = _runner_config("dialogue")
    common, runs = cfg["common"], cfg["runs"]
    assert _settings(["experiment=dialogue_mle"], tmp_path) == _settings([*common, *runs["mle"]], tmp_path)
    # the runner left num_rollouts at its default for Adver-Reinforce, which draws no rollouts
    for reward, run, rollouts in (("sequence", "adver_reinforce", 5), ("regs", "adver_regs", 3)):
        assert _settings(["experiment=dialogue_adver", f"method.reward={reward}", f"method.num_rollouts={rollouts}",
                          CKPTS[0]], tmp_path) == _settings([*common, *runs[run], CKPTS[0]], tmp_path), run


def test_dialogue_rl_presets_are_the_runner_configs_runs(tmp_path):
    cfg = _runner_config("dialogue_rl")
    common, runs = cfg["common"], cfg["runs"]
    big = ["data.max_train_pairs=40000", "method.epochs=4"]
    assert _settings(["experiment=dialogue_mle", *big], tmp_path) == _settings([*common, *runs["mle"]], tmp_path)
    assert _settings(["experiment=dialogue_mle", *big, "data.direction=backward"], tmp_path) == \
        _settings([*common, *runs["backward"]], tmp_path)
    assert _settings(["experiment=dialogue_adver", "data.max_train_pairs=40000", "trainer.limit_train_batches=100",
                      CKPTS[0]], tmp_path) == _settings([*common, *runs["regs"], CKPTS[0]], tmp_path)
    dull = "[" + ",".join(f'"{d}"' for d in cfg["dull_responses"]) + "]"
    mmi = _settings([*common, *runs["mmi"], *CKPTS, f"method.dull_responses={dull}"], tmp_path)
    assert _settings(["experiment=dialogue_rl", *CKPTS], tmp_path) == mmi
