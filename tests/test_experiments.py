"""`conf/experiment/` presets: each composes and passes validation, and each holds exactly the settings of the
runs whose results `experiments/<name>/results.md` reports. The override lists those runs were launched with
are written out here, so a preset that drifts from the published runs fails."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from textgan.config.validate import check_overrides, group_options, validate_config
from textgan.errors import ConfigError

from conftest import compose_config

CKPTS = ["method.pretrained_ckpt=mle.ckpt", "method.backward_ckpt=backward.ckpt"]
# what a preset must give (the ??? of the preset) before it composes into a runnable config
REQUIRED = {"dialogue_adver": CKPTS[:1], "dialogue_rl": CKPTS}
# the run settings compared between a preset and its runner (sweep_name and hydra: where the outputs go)
COMPARED = ("data", "method", "trainer", "callbacks", "logger", "eval_every", "num_threads", "test",
            "optimized_metric", "optimized_mode")


# The override lists of the runner scripts that produced each results.md (`git show a910879:experiments/<name>/run*.py`,
# `config*.yaml`), each with the values of that run.
WGAN_CHAR = ["method=wgan_gp", "logger=csv", "trainer=cpu", "eval_every=1", "num_threads=1",
             "callbacks.progress_bar=null", "+trainer.max_time=00:00:20:00", "trainer.enable_model_summary=false",
             "method.generator.dim=32", "method.epochs=1000", "data=char_text", "data.seq_len=32",
             "data.add_eos=false", "data.batch_size=64"]
# experiments/gumbel_cfg/run.py's COMMON with GUMBEL_CFG_MAX_TIME=00:00:08:00, the cap of results.md's runs
GUMBEL_COMMON = ["data=cfg", "logger=csv", "trainer=cpu", "eval_every=1", "num_threads=1",
                 "callbacks.progress_bar=null", "+trainer.max_time=00:00:08:00", "trainer.enable_model_summary=false"]
GUMBEL_RUNS = {
    "MLE (LSTM 32/64)": ["method=mle", "method.epochs=40", "method.num_eval_samples=1000",
                         "method.generator.hidden_dim=64", "optimized_metric=val/nll_test"],
    "Gumbel GAN (soft)": ["method=gumbel_gan", "method.epochs=200", "method.tau_anneal_rate=5e-3",
                          "method.tau_anneal_every=50"],
}
GUMBEL_RUNS["Gumbel GAN (straight-through)"] = [*GUMBEL_RUNS["Gumbel GAN (soft)"], "method.straight_through=true"]
# experiments/dialogue/config.yaml and experiments/dialogue_rl/config.yaml (seed 12345; config_seed2/3.yaml:
# the same but the seed). The runners evaluated the checkpoints themselves (`test=false`, dialogue_rl's dull list
# for every system's simulated length); the presets' test pass does it (`test=true`, the list in each preset)
DULL = ["I don't know what you are talking about .", "I don't know .", "You don't know .", "You know what I mean .",
        "I know what you mean .", "You know what I'm saying .", "You don't know anything .",
        "I don ’ t know what you are talking about .", "I don ’ t know .", "You don ’ t know .",
        "You know what I ’ m saying .", "You don ’ t know anything ."]
DULL_LIST = "method.simulation.dull_responses=[" + ",".join(f'"{d}"' for d in DULL) + "]"
DIALOGUE_DATA = ["data=dialogue", "data.corpus=dailydialog", "data.max_context_len=15", "data.max_response_len=12",
                 "data.seq_len=13", "data.max_size=3000"]
DIALOGUE_COMMON = ["logger=csv", "num_threads=1", "test=true", "eval_every=1000", "callbacks.best_checkpoint=null",
                   "callbacks.progress_bar=null", "+trainer.enable_progress_bar=false", DULL_LIST]
ADVER = ["method=dialogue_seqgan", "method.g_pretrain_epochs=0", "method.d_pretrain_epochs=1",
         "method.adversarial_epochs=1", "method.d_steps=3", "method.g_steps=1", "method.adv_batch_size=32",
         "method.g_adv_optimizer.lr=3.0e-4"]
DIALOGUE = {
    "mle": ["method=seq2seq", "method.epochs=3"],
    "adver_reinforce": [*ADVER, "method.reward=sequence", "+trainer.limit_train_batches=60"],
    "adver_regs": [*ADVER, "method.reward=regs", "method.num_rollouts=3", "+trainer.limit_train_batches=60"],
}
MMI = ["method=dialogue_rl", "method.mmi_epochs=1", "method.simulation_epochs=1", "method.prefix_start=6",
       "method.prefix_anneal_every=25", "method.turns_start=2", "method.turns_max=5", "method.turns_every=30",
       "method.rl_batch_size=32", "method.rl_optimizer.lr=1.0e-4"]
DIALOGUE_RL = {
    "mle": ["method=seq2seq", "method.epochs=4"],
    "backward": ["method=seq2seq", "method.epochs=4", "data.direction=backward"],
    "mmi": [*MMI, "trainer.max_epochs=1", "+trainer.limit_train_batches=200", *CKPTS],
    "rl": [*MMI, "trainer.max_epochs=2", "+trainer.limit_train_batches=150", *CKPTS],  # mmi's run, resumed
    "regs": [*ADVER, "method.reward=regs", "method.num_rollouts=3", "+trainer.limit_train_batches=100", CKPTS[0]],
}


def _settings(overrides: list[str], tmp_path) -> dict:
    cfg = compose_config(overrides, tmp_path)
    return {k: OmegaConf.to_container(cfg, resolve=True)[k] for k in COMPARED}


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


def test_gumbel_cfg_presets_are_the_published_runs(tmp_path):
    assert _settings(["experiment=gumbel_cfg_mle"], tmp_path) == \
        _settings([*GUMBEL_COMMON, *GUMBEL_RUNS["MLE (LSTM 32/64)"]], tmp_path)
    assert _settings(["experiment=gumbel_cfg"], tmp_path) == \
        _settings([*GUMBEL_COMMON, *GUMBEL_RUNS["Gumbel GAN (soft)"]], tmp_path)
    assert _settings(["experiment=gumbel_cfg", "method.straight_through=true"], tmp_path) == \
        _settings([*GUMBEL_COMMON, *GUMBEL_RUNS["Gumbel GAN (straight-through)"]], tmp_path)


def test_wgan_char_preset_is_the_published_run(tmp_path):
    assert _settings(["experiment=wgan_char"], tmp_path) == _settings(WGAN_CHAR, tmp_path)
    cfg = compose_config(["experiment=wgan_char"], tmp_path)  # the values results.md names
    assert (cfg.method.generator.dim, cfg.method.critic_steps, cfg.method.gp_weight, cfg.data.batch_size,
            cfg.trainer.max_time) == (32, 10, 10.0, 64, "00:00:20:00")


def test_dialogue_presets_are_the_published_runs(tmp_path):
    common = [*DIALOGUE_DATA, "data.max_train_pairs=16000", *DIALOGUE_COMMON]
    assert _settings(["experiment=dialogue_mle"], tmp_path) == _settings([*common, *DIALOGUE["mle"]], tmp_path)
    # the runner left num_rollouts at its default for Adver-Reinforce, which draws no rollouts
    for reward, run, rollouts in (("sequence", "adver_reinforce", 5), ("regs", "adver_regs", 3)):
        assert _settings(["experiment=dialogue_adver", f"method.reward={reward}", f"method.num_rollouts={rollouts}",
                          CKPTS[0]], tmp_path) == _settings([*common, *DIALOGUE[run], CKPTS[0]], tmp_path), run


def test_dialogue_rl_presets_are_the_published_runs(tmp_path):
    common = [*DIALOGUE_DATA, "data.max_train_pairs=40000", *DIALOGUE_COMMON]
    big = ["data.max_train_pairs=40000", "method.epochs=4"]
    assert _settings(["experiment=dialogue_mle", *big], tmp_path) == \
        _settings([*common, *DIALOGUE_RL["mle"]], tmp_path)
    assert _settings(["experiment=dialogue_mle", *big, "data.direction=backward"], tmp_path) == \
        _settings([*common, *DIALOGUE_RL["backward"]], tmp_path)
    assert _settings(["experiment=dialogue_adver", "data.max_train_pairs=40000", "trainer.limit_train_batches=100",
                      CKPTS[0]], tmp_path) == _settings([*common, *DIALOGUE_RL["regs"]], tmp_path)
    assert _settings(["experiment=dialogue_rl", *CKPTS], tmp_path) == \
        _settings([*common, *DIALOGUE_RL["mmi"]], tmp_path)
    assert _settings(["experiment=dialogue_rl", *CKPTS, "trainer.max_epochs=2", "trainer.limit_train_batches=150"],
                     tmp_path) == _settings([*common, *DIALOGUE_RL["rl"]], tmp_path)


def test_the_dialogue_rl_recipe_runs_at_smoke_size_from_seed_interpolated_checkpoints(tmp_path):
    """results.md's commands at toy size: forward and backward MLE, MMI from their checkpoints named through
    `${seed}` (one command line for every seed), the simulation phase resumed from MMI's checkpoint into a run
    of its own; each run's test pass logs the table's measures."""
    from textgan.runs.train import train

    from conftest import read_metrics, shared_data_dir

    if shared_data_dir() is None:
        pytest.skip("TEXTGAN_DATA is not set: the recipe runs on the shared chatterbot corpus")
    smoke = ["data.corpus=chatterbot_en", "debug=smoke", "seed=3"]
    runs = tmp_path / "seed3"
    train(compose_config(["experiment=dialogue_mle", *smoke, "method.epochs=1"], runs / "mle"))
    train(compose_config(["experiment=dialogue_mle", *smoke, "method.epochs=1", "data.direction=backward"],
                         runs / "backward"))
    ckpts = [f"method.pretrained_ckpt='{tmp_path}/seed${{seed}}/mle/checkpoints/last.ckpt'",
             f"method.backward_ckpt='{tmp_path}/seed${{seed}}/backward/checkpoints/last.ckpt'"]
    rl = ["experiment=dialogue_rl", *smoke, *ckpts, "trainer.limit_train_batches=2", "method.mle_epochs=0",
          "method.rl_batch_size=8"]
    train(compose_config(rl, runs / "mmi"))
    train(compose_config([*rl, "trainer.max_epochs=2", f"ckpt_path='{tmp_path}/seed${{seed}}/mmi/checkpoints/"
                          "last.ckpt'"], runs / "rl"))
    for run in ("mle", "backward", "mmi", "rl"):
        logged = read_metrics(runs / run)
        assert all(logged[f"test/{m}"] for m in ("sim_length", "distinct_1_per_token", "bleu2", "avg_len")), run
    # phases: 0 MLE (0 epochs here), 1 MMI, 2 simulation: MMI stops after its epoch, the resumed run simulates
    assert set(read_metrics(runs / "mmi")["progress/phase"]) == {1}
    assert set(read_metrics(runs / "rl")["progress/phase"]) == {2}


def test_the_adversuc_script_scores_each_checkpoint_greedy_and_beam(tmp_path, capsys):
    """experiments/dialogue/adversuc.py: one row per checkpoint and decoding (the same checkpoint twice: the same
    AdverSuc), the human ceiling first; a spec without LABEL= is one line."""
    import importlib.util

    from textgan.runs.train import train

    from conftest import REPO, shared_data_dir

    if shared_data_dir() is None:
        pytest.skip("TEXTGAN_DATA is not set: the checkpoint is trained on the shared chatterbot corpus")
    spec = importlib.util.spec_from_file_location("adversuc_script", REPO / "experiments/dialogue/adversuc.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    train(compose_config(["experiment=dialogue_mle", "data.corpus=chatterbot_en", "debug=smoke", "method.epochs=1",
                          "test=false"], tmp_path))
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert script.main([f"MLE={ckpt}", f"Again={ckpt}", "--test-pairs", "16", "--evaluator-pairs", "64",
                        "--evaluator-epochs", "1", "--beam-size", "3"]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and
            not line.startswith("| system") and not line.startswith("| ---")]
    assert [r[0][2:] for r in rows] == ["human (test responses)", "MLE greedy", "MLE beam 3", "Again greedy",
                                        "Again beam 3"]
    values = [float(r[1].rstrip(" |")) for r in rows]
    assert all(0.0 <= v <= 1.0 for v in values) and values[1:3] == values[3:5]
    assert script.run_with_one_line_errors(script.main, [str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "give LABEL=CHECKPOINT" in err
