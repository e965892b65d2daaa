"""Never losing a run: a crash mid-adversarial-phase resumed with `ckpt_path=last` ends exactly like an
uninterrupted run; checkpoints are complete, plain (weights_only) and written atomically; `ckpt_path=last` finds
the newest run of the same configuration."""

from __future__ import annotations

import json
import os
import time

import pytest
import torch
from pytorch_lightning.callbacks import Callback

from textgan.runs.callbacks.checkpointing import AtomicCheckpointIO
from textgan.runs.resume import find_last_checkpoint
from textgan.runs.train import train

from conftest import compose_config, read_metrics

# SeqGAN at toy size with a small discriminator: 1 G pre-training epoch, 1 D pre-training round, 3 adversarial
# rounds (epochs 2, 3, 4), 4 batches per epoch, delayed rollout policy (a third network in the checkpoint)
TINY_SEQGAN = ["experiment=smoke_seqgan", "method.adversarial_rounds=3", "method.rollout_policy=delayed",
               "method.discriminator.filter_sizes=[2,3]", "method.discriminator.num_filters=[8,8]",
               "method.discriminator.embed_dim=8", "seed=3"]


class CrashAt(Callback):
    """Simulates a killed process: raises in the middle of epoch `epoch` (before batch `batch_idx`)."""

    def __init__(self, epoch: int, batch_idx: int):
        self.epoch, self.batch_idx = epoch, batch_idx

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch_idx:
            raise RuntimeError("simulated crash")


def test_crash_mid_adversarial_resumes_exactly(tmp_path):
    reference = tmp_path / "reference"
    train(compose_config(TINY_SEQGAN, reference))

    runs = tmp_path / "outputs" / "seqgan_oracle"
    crashed = runs / "2000-01-01_00-00-00"
    crash = ["+callbacks.crash._target_=test_resume.CrashAt", "+callbacks.crash.epoch=3",
             "+callbacks.crash.batch_idx=2"]
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(compose_config([*TINY_SEQGAN, *crash], crashed))
    ckpt = torch.load(crashed / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["epoch"] == 2 and ckpt["phase"] == "adversarial"  # the first adversarial round completed

    resumed = runs / "2000-01-01_00-00-01"
    train(compose_config([*TINY_SEQGAN, "ckpt_path=last"], resumed))

    ref, res = read_metrics(reference), read_metrics(resumed)
    for key in ("test/nll_oracle", "test/nll_test"):
        assert res[key] == ref[key], key  # bitwise: same data order, negatives, rollouts and samples
    n = len(res["val/nll_oracle"])  # the resumed run evaluated the epochs after the crash
    assert n >= 2 and res["val/nll_oracle"] == ref["val/nll_oracle"][-n:]
    assert res["train/d_loss"][-1] == ref["train/d_loss"][-1]
    final_ref = torch.load(reference / "checkpoints" / "last.ckpt", weights_only=True)
    final_res = torch.load(resumed / "checkpoints" / "last.ckpt", weights_only=True)
    for name, value in final_ref["state_dict"].items():
        assert torch.equal(value, final_res["state_dict"][name]), name


def test_checkpoint_holds_everything_in_plain_types(tmp_path):
    train(compose_config([*TINY_SEQGAN, "method.adversarial_rounds=1", "test=false"], tmp_path))
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)  # plain types only
    prefixes = {k.split(".")[0] for k in ckpt["state_dict"]}
    assert {"generator", "discriminator", "rollout_policy"} <= prefixes
    assert len(ckpt["optimizer_states"]) == 3  # G pre-training, G adversarial, D
    assert "lr_schedulers" in ckpt
    assert ckpt["phase"] == "adversarial" and ckpt["epoch"] == 2
    assert ckpt["loops"]["fit_loop"]["epoch_progress"]["current"]["completed"] == 2
    assert ckpt["vocab"]["itos"][:2] == ["0", "1"]
    assert ckpt["config"]["method"]["rollout_policy"] == "delayed" and ckpt["config"]["seed"] == 3
    assert set(ckpt["rng_states"]) >= {"torch", "python", "numpy"}
    assert isinstance(ckpt["rng_states"]["torch"], torch.Tensor)


def test_atomic_write_keeps_previous_checkpoint_on_crash(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"epoch": 1, "w": torch.ones(3)}, path)

    def torn_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a checkpoint")  # the process dies mid-write
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(OSError, match="No space left"):
        io.save_checkpoint({"epoch": 2, "w": torch.zeros(3)}, path)
    monkeypatch.undo()
    loaded = io.load_checkpoint(path)
    assert loaded["epoch"] == 1 and torch.equal(loaded["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]  # no temp file left behind


def test_loading_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "obj": Callback()}, path)  # an arbitrary object: not a plain checkpoint
    with pytest.raises(Exception, match="[Ww]eights only"):
        AtomicCheckpointIO().load_checkpoint(path)


def _fake_run(root, name, signature, age):
    ckpt_dir = root / name / "checkpoints"
    ckpt_dir.mkdir(parents=True)
    (ckpt_dir / "run_config.json").write_text(json.dumps(signature))
    ckpt = ckpt_dir / "last.ckpt"
    ckpt.write_bytes(b"")
    t = time.time() - age
    os.utime(ckpt, (t, t))
    return ckpt


def test_ckpt_path_last_finds_newest_run_of_same_config(tmp_path):
    runs = tmp_path / "outputs" / "seqgan_oracle"
    same, other = {"seed": 1, "method": {"lr": 0.1}}, {"seed": 2, "method": {"lr": 0.1}}
    old = _fake_run(runs, "2024-01-01_00-00-00", same, age=300)
    new = _fake_run(runs, "2024-01-02_00-00-00", same, age=100)
    _fake_run(runs, "2024-01-03_00-00-00", other, age=10)  # newer, but another seed
    (runs / "2024-01-04_00-00-00" / "checkpoints").mkdir(parents=True)  # a run that died before a checkpoint
    current = runs / "2024-01-05_00-00-00"
    assert find_last_checkpoint(current, same) == new.resolve()
    assert old != new
    # a multirun job finds the same job of an earlier sweep
    sweeps = tmp_path / "multirun" / "seqgan_oracle"
    job = _fake_run(sweeps / "2024-01-01_00-00-00", "0", same, age=50)
    _fake_run(sweeps / "2024-01-01_00-00-00", "1", other, age=40)
    assert find_last_checkpoint(sweeps / "2024-02-01_00-00-00" / "0", same) == job.resolve()
    assert find_last_checkpoint(current, {"seed": 9}) is None


# ------------------------------------------------------------------ what counts as "the same run"
TINY_MLE = ["experiment=smoke_mle", "method.epochs=3", "test=false", "seed=5"]


def _signature(tmp_path, overrides):
    from omegaconf import OmegaConf

    from textgan.runs.resume import resume_signature

    return resume_signature(OmegaConf.to_container(compose_config([*TINY_MLE, *overrides], tmp_path), resolve=True))


@pytest.mark.parametrize("overrides", [["trainer.limit_train_batches=1"], ["trainer.precision=bf16-mixed"],
                                       ["trainer.devices=2"], ["+trainer.accumulate_grad_batches=2"],
                                       ["trainer.accelerator=gpu"], ["+trainer.strategy=ddp"],
                                       ["callbacks.nan_guard.action=skip"], ["test=true"], ["seed=6"],
                                       ["+callbacks.stop._target_=pytorch_lightning.callbacks.EarlyStopping",
                                        "+callbacks.stop.monitor=val/nll_test"]])
def test_signature_changes_with_what_is_computed(tmp_path, overrides):
    assert _signature(tmp_path / "b", overrides) != _signature(tmp_path / "a", [])


@pytest.mark.parametrize("overrides", [["logger=tensorboard"], ["callbacks.progress_bar=null"], ["num_threads=2"],
                                       ["trainer.log_every_n_steps=5"], ["+trainer.enable_progress_bar=false"],
                                       ["callbacks.samples.num_samples=3"], ["trainer.enable_model_summary=true"],
                                       ["+callbacks.crash._target_=test_resume.CrashAt"]])
def test_signature_ignores_what_only_observes(tmp_path, overrides):
    assert _signature(tmp_path / "b", overrides) == _signature(tmp_path / "a", [])  # other dir, same signature


def test_ckpt_path_last_does_not_resume_a_run_with_other_limits(tmp_path, caplog):
    runs = tmp_path / "outputs" / "mle_oracle"
    train(compose_config([*TINY_MLE, "trainer.limit_train_batches=1"], runs / "one_batch"))
    with caplog.at_level("WARNING", logger="textgan.runs.resume"):
        train(compose_config([*TINY_MLE, "ckpt_path=last"], runs / "full"))
    assert torch.load(runs / "full" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 12  # 3 x 4
    warning = next(r.getMessage() for r in caplog.records if "ckpt_path=last" in r.getMessage())
    assert "starting from scratch" in warning and "trainer.limit_train_batches" in warning


# ------------------------------------------------------------------ a corrupt newest checkpoint
def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupt_last_ckpt_falls_back_to_the_previous_one_and_resumes_exactly(tmp_path, caplog, damage):
    runs = tmp_path / "outputs" / "mle_oracle"
    first = runs / "first"
    train(compose_config(TINY_MLE, first))
    last, prev = first / "checkpoints" / "last.ckpt", first / "checkpoints" / "last.prev.ckpt"
    assert torch.load(prev, weights_only=True)["epoch"] == 1 and torch.load(last, weights_only=True)["epoch"] == 2
    reference = torch.load(last, weights_only=True)["state_dict"]
    if damage == "truncated":
        _truncate(last)
    else:
        last.write_bytes(os.urandom(4096))

    with caplog.at_level("INFO", logger="textgan.runs.resume"):
        train(compose_config([*TINY_MLE, "ckpt_path=last"], runs / "requeued"))
    messages = [r.getMessage() for r in caplog.records]
    fallback = next(m for m in messages if "falling back" in m)
    assert str(last) in fallback and str(prev) in fallback and "\n" not in fallback
    assert not any("weights_only=False" in m for m in messages)
    assert any(f"resuming {prev} (epoch 1" in m for m in messages)
    assert not any("restarts from its first batch" in m for m in messages)  # an end-of-epoch checkpoint
    resumed = torch.load(runs / "requeued" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["epoch"] == 2 and resumed["global_step"] == 12  # only the last epoch was redone
    origin = json.loads((runs / "requeued" / "checkpoints" / "resumed_from.json").read_text())
    assert origin == {"checkpoint": str(prev.resolve()), "run_dir": str(first.resolve())}  # where its history is
    for name, value in reference.items():
        assert torch.equal(value, resumed["state_dict"][name]), name  # bitwise the uninterrupted run's


def test_every_checkpoint_unreadable_starts_from_scratch_and_a_named_one_is_refused(tmp_path, caplog):
    from textgan.runs.checkpoint import CheckpointError

    runs = tmp_path / "outputs" / "mle_oracle"
    first = runs / "first"
    train(compose_config([*TINY_MLE, "method.epochs=2"], first))
    last, prev = first / "checkpoints" / "last.ckpt", first / "checkpoints" / "last.prev.ckpt"
    _truncate(last)
    # a named checkpoint that is unreadable: one line, naming the readable predecessor, before any work
    with pytest.raises(CheckpointError) as info:
        train(compose_config([*TINY_MLE, "method.epochs=2", f"ckpt_path={last}"], runs / "named"))
    message = str(info.value)
    assert "\n" not in message and "weights_only=False" not in message and f"ckpt_path={prev}" in message
    assert not (runs / "named").exists()
    # Lightning's own load path (AtomicCheckpointIO) says the same in one line
    with pytest.raises(CheckpointError) as info:
        AtomicCheckpointIO().load_checkpoint(last)
    assert "\n" not in str(info.value) and "weights_only=False" not in str(info.value)
    _truncate(prev)
    with caplog.at_level("WARNING", logger="textgan.runs.resume"):
        train(compose_config([*TINY_MLE, "method.epochs=2", "ckpt_path=last"], runs / "again"))
    assert any("every checkpoint of this configuration is unreadable" in r.getMessage() for r in caplog.records)
    assert torch.load(runs / "again" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 8


def test_run_py_requeue_with_a_truncated_last_ckpt_resumes_the_previous_one(tmp_path):
    """Through the real CLI: the requeued command falls back with one warning line, says what it resumed and
    why, never prints torch's weights_only advice."""
    import subprocess
    import sys

    from conftest import REPO

    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "TEXTGAN_CACHE": str(tmp_path / "c"),
           "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, str(REPO / "run.py"), *TINY_MLE, "num_threads=1", "ckpt_path=last"]
    first = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "ckpt_path=last: no earlier run of this configuration" in first.stdout + first.stderr
    (run,) = (tmp_path / "outputs" / "mle_oracle_toy").iterdir()
    last = run.resolve() / "checkpoints" / "last.ckpt"
    _truncate(last)

    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = again.stdout + again.stderr
    assert again.returncode == 0, out[-2000:]
    assert "weights_only=False" not in out and "Traceback" not in out
    fallback = [line for line in out.splitlines() if "falling back" in line]
    assert len(fallback) == 1 and str(last) in fallback[0]
    assert f"resuming {last.with_name('last.prev.ckpt')} (epoch 1, global step 8)" in out
    assert "equals this run's in every setting that changes what is computed" in out
    assert len(list((tmp_path / "outputs" / "mle_oracle_toy").iterdir())) == 2  # the requeued run got its own dir


# ------------------------------------------------------------------ every method: crash, resume in place, same run
EVERY_METHOD = {
    "mle": (["experiment=smoke_mle", "method.epochs=3"], 1, False),
    "gumbel_gan": (["experiment=smoke_gumbel_gan", "data=cfg", "method.epochs=3"], 1, False),
    "wgan_gp": (["experiment=smoke_wgan_gp", "data=cfg", "method.epochs=3"], 1, False),
    "seq2seq": (["experiment=smoke_seq2seq", "data=dialogue", "method.epochs=3"], 1, True),
    "dialogue_seqgan": (["experiment=smoke_dialogue_seqgan", "data=dialogue", "method.adversarial_epochs=2"], 3, True),
}


@pytest.mark.parametrize("name", list(EVERY_METHOD))
def test_every_method_crashed_and_resumed_in_place_equals_the_uninterrupted_run(name, tmp_path, request):
    overrides, crash_epoch, needs_data = EVERY_METHOD[name]
    if needs_data:
        request.getfixturevalue("real_data_dir")  # skips without TEXTGAN_DATA
    tiny = [*overrides, "seed=11"]
    train(compose_config(tiny, tmp_path / "reference"))
    run = tmp_path / "outputs" / name / "run"
    crash = ["+callbacks.crash._target_=test_resume.CrashAt", f"+callbacks.crash.epoch={crash_epoch}",
             "+callbacks.crash.batch_idx=1"]
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(compose_config([*tiny, *crash], run))
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == crash_epoch - 1
    train(compose_config([*tiny, "ckpt_path=last"], run))

    import csv

    def rows(d):
        with open(d / "csv" / "metrics.csv", newline="") as f:
            return [{k: v for k, v in r.items() if v != ""} for r in csv.DictReader(f)]

    assert rows(run) == rows(tmp_path / "reference")  # every metric of every epoch once, bitwise
    final_ref = torch.load(tmp_path / "reference" / "checkpoints" / "last.ckpt", weights_only=True)
    final_res = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert final_ref["state_dict"].keys() == final_res["state_dict"].keys()
    for key, value in final_ref["state_dict"].items():
        assert torch.equal(value, final_res["state_dict"][key]), key
