"""Config mistakes are one-line errors naming the key and the valid choices (not Hydra tracebacks)."""

from __future__ import annotations

import pytest

from textgan.config.validate import ConfigError, check_overrides, group_options, validate_config

from conftest import compose_config


@pytest.mark.parametrize("overrides, message", [
    (["method=seqgn"], "method=seqgn: unknown option of group 'method' (did you mean seqgan?); choose one of: "),
    (["data=oracel"], "data=oracel: unknown option of group 'data' (did you mean oracle?)"),
    (["method=mle,sqgan", "seed=1,2"], "method=sqgan: unknown option of group 'method'"),
    (["method=mle", "method.optimizr=0.1"], "unknown config key 'method.optimizr' (did you mean optimizer?); "
                                            "valid keys under 'method': epochs, generator, grad_clip, "
                                            "num_eval_samples, optimizer,"),
    (["seeed=1"], "unknown config key 'seeed' (did you mean seed?)"),
    (["method=mle", "+method.optimizr=0.1"], "unknown key 'method.optimizr' for textgan.methods.mle.MLE (did you "
                                             "mean optimizer?)"),
    (["method=mle", "method.optimizer.lr=fast"], "'method.optimizer.lr' must be float, got 'fast' (str)"),
    (["method.num_rollouts=2.5"], "'method.num_rollouts' must be int, got 2.5 (float)"),
    (["seed=abc"], "'seed' must be int or null, got 'abc' (str)"),
    (["optimized_mode=minimum"], "'optimized_mode' must be one of 'min', 'max', got 'minimum'"),
    (["+seed=3"], "'seed' exists already: set it with seed=..."),
    (["method.generator.hidden_dim=big"], "'method.generator.hidden_dim' must be int, got 'big' (str)"),
])
def test_mistakes_are_one_line_errors(overrides, message):
    with pytest.raises(ConfigError) as info:
        check_overrides(overrides)
    text = str(info.value)
    assert message in text and "\n" not in text
    if "unknown option of group 'method'" in message:
        assert set(group_options("method")) >= {"mle", "seqgan"}
        assert all(m in text for m in group_options("method"))


def test_valid_command_lines_pass():
    check_overrides(["method=mle,seqgan", "seed=1,2,3", "data=oracle", "debug=smoke"])
    check_overrides(["method=seqgan", "method.num_rollouts=8", "trainer.max_epochs=3", "ckpt_path=last"])


def test_validate_composed_config(tmp_path):
    cfg = compose_config(["experiment=smoke_mle", "+callbacks.samples.num_sampels=3"], tmp_path)
    with pytest.raises(ConfigError, match=r"unknown key 'callbacks.samples.num_sampels' .*did you mean num_samples"):
        validate_config(cfg)
    validate_config(compose_config(["experiment=smoke_mle"], tmp_path))


@pytest.mark.parametrize("search, method", [("seqgan_optuna", "seqgan"), ("wgan_optuna", "wgan_gp")])
def test_optuna_search_spaces_name_real_method_keys(search, method, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweep extra: pip install -e '.[sweep]'")
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    compose_config([f"hparams_search={search}"], tmp_path)
    hydra_cfg = HydraConfig.get()
    assert hydra_cfg.runtime.choices["method"] == method and str(hydra_cfg.mode) == "RunMode.MULTIRUN"
    params = OmegaConf.to_container(hydra_cfg.sweeper.params)
    cfg = compose_config([f"method={method}"], tmp_path)
    for key in params:
        assert OmegaConf.select(cfg, key) is not None, key  # every searched key exists in the method config


def test_slurm_launcher_example_composes(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher",
                        reason="needs the sweep extra: pip install -e '.[sweep]'")
    from hydra.core.hydra_config import HydraConfig

    compose_config(["hydra/launcher=slurm"], tmp_path)
    launcher = HydraConfig.get().launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.signal_delay_s == 120


def test_missing_checkpoint_file_is_a_config_error(tmp_path):
    from textgan.runs.train import train

    cfg = compose_config(["experiment=smoke_mle", f"ckpt_path={tmp_path}/nowhere.ckpt"], tmp_path / "run")
    with pytest.raises(ConfigError, match="nowhere.ckpt: no such checkpoint file"):
        train(cfg)


def test_partial_and_nested_targets_are_checked_against_their_callable(tmp_path):
    # a `_partial_` node (an optimizer a method completes with its parameters) is checked like any `_target_` node
    adam = "{_target_: torch.optim.Adam, _partial_: true, lrr: 0.1}"
    cfg = compose_config(["experiment=smoke_mle", f"+callbacks.optimizer={adam}"], tmp_path)
    with pytest.raises(ConfigError, match=r"unknown key 'callbacks.optimizer.lrr' for torch.optim.Adam "
                                          r"\(did you mean lr\?\)"):
        validate_config(cfg)
    cfg = compose_config(["experiment=smoke_mle", "+callbacks.nowhere={_target_: textgan.no_such.Thing}"],
                         tmp_path)
    with pytest.raises(ConfigError, match=r"^callbacks.nowhere._target_: cannot import 'textgan.no_such.Thing'"):
        validate_config(cfg)


@pytest.mark.parametrize("flags", [["-m"], ["--cfg", "job"], ["--cfg=job", "--resolve"], ["-c", "all", "-p", "method"]])
def test_command_line_is_checked_with_hydras_config_flags(flags, capsys):
    from textgan.cli.train import check_command_line

    with pytest.raises(SystemExit) as info:
        check_command_line([*flags, "method=seqgn"])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and err.count("\n") == 0
    assert err.startswith("error: method=seqgn: unknown option of group 'method' (did you mean seqgan?)")


def test_command_line_of_another_primary_config_is_left_to_hydra():
    from textgan.cli.train import check_command_line

    # Lightning's DDP launcher starts `run.py -cp <run dir>/.hydra -cn config.yaml ...`: not conf/config.yaml
    assert check_command_line(["-cp", "/nowhere/.hydra", "-cn", "config.yaml", "method=seqgn"]) is None
    assert check_command_line(["--help"]) is None
