"""Fault handling: a NaN stops the run naming the loss and the step (last good checkpoint kept) or is skipped;
SIGTERM / SIGINT save a checkpoint and exit cleanly with status 128 + signal."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from pytorch_lightning.callbacks import Callback

from textgan.runs.callbacks.faults import NonFiniteError
from textgan.runs.train import RunInterrupted, train

from conftest import compose_config, read_metrics

TINY_MLE = ["experiment=smoke_mle", "method.epochs=3", "test=false", "seed=5"]


class PoisonWeights(Callback):
    """Sets the generator's output layer to NaN before batch `batch_idx` of epoch `epoch`."""

    def __init__(self, epoch: int, batch_idx: int):
        self.epoch, self.batch_idx = epoch, batch_idx

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch_idx:
            with torch.no_grad():
                next(pl_module.generator.parameters()).fill_(float("nan"))


class PoisonOneGradient(Callback):
    """Makes one gradient NaN in batch `batch_idx` of epoch `epoch` (the loss stays finite)."""

    def __init__(self, epoch: int, batch_idx: int):
        self.epoch, self.batch_idx = epoch, batch_idx

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch_idx:
            param = next(pl_module.generator.parameters())
            handle = None

            def to_nan(grad):
                handle.remove()
                return torch.full_like(grad, float("nan"))

            handle = param.register_hook(to_nan)


class SendSignal(Callback):
    def __init__(self, signum: int, epoch: int, batch_idx: int):
        self.signum, self.epoch, self.batch_idx = signum, epoch, batch_idx

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch_idx:
            os.kill(os.getpid(), self.signum)


def _with(name: str, target: str, **kwargs) -> list[str]:
    return [f"+callbacks.{name}._target_=test_faults.{target}", *(f"+callbacks.{name}.{k}={v}"
                                                                   for k, v in kwargs.items())]


def test_nan_loss_stops_naming_loss_and_step_and_keeps_last_good_checkpoint(tmp_path):
    cfg = compose_config([*TINY_MLE, *_with("poison", "PoisonWeights", epoch=1, batch_idx=2)], tmp_path)
    with pytest.raises(NonFiniteError) as info:
        train(cfg)
    message = str(info.value)
    # 4 batches per epoch: batch 2 of epoch 1 is global step 6 (the 7th optimizer step)
    assert "train/g_mle_loss" in message and "global step 6" in message and "epoch 1" in message
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["epoch"] == 0  # the checkpoint of the last good epoch, not overwritten
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values())


def test_nan_gradient_is_skipped_when_configured(tmp_path):
    cfg = compose_config([*TINY_MLE, "callbacks.nan_guard.action=skip",
                          *_with("poison", "PoisonOneGradient", epoch=1, batch_idx=1)], tmp_path)
    train(cfg)
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["epoch"] == 2  # the run went on to the end
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values())
    assert max(read_metrics(tmp_path)["train/skipped_steps"]) == 1.0  # exactly one step skipped


def test_nan_gradient_stops_by_default(tmp_path):
    cfg = compose_config([*TINY_MLE, *_with("poison", "PoisonOneGradient", epoch=0, batch_idx=1)], tmp_path)
    with pytest.raises(NonFiniteError, match=r"gradient of generator\..*global step 1"):
        train(cfg)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_saves_checkpoint_and_exits_cleanly(signum, tmp_path):
    cfg = compose_config([*TINY_MLE, *_with("kill", "SendSignal", signum=int(signum), epoch=1, batch_idx=0)],
                         tmp_path)
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(RunInterrupted) as info:
        train(cfg)
    assert info.value.code == 128 + signum
    assert signal.getsignal(signal.SIGINT) == previous  # our Ctrl-C handler is gone again
    interrupted = torch.load(tmp_path / "checkpoints" / "interrupted.ckpt", weights_only=True)
    assert interrupted["global_step"] == 5  # stopped right after batch 0 of epoch 1, not at the end
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0  # the resume point: the last completed epoch


def test_mid_epoch_checkpoint_resumes_seqgan_from_epoch_start(tmp_path):
    tiny = ["experiment=smoke_seqgan", "method.adversarial_rounds=2", "test=false", "seed=2",
            "method.discriminator.filter_sizes=[2,3]", "method.discriminator.num_filters=[8,8]"]
    # SIGTERM after batch 1 of the first adversarial epoch (epoch 2): interrupted.ckpt is a mid-epoch checkpoint
    with pytest.raises(RunInterrupted):
        train(compose_config([*tiny, *_with("kill", "SendSignal", signum=int(signal.SIGTERM), epoch=2,
                                            batch_idx=1)], tmp_path / "a"))
    ckpt = tmp_path / "a" / "checkpoints" / "interrupted.ckpt"
    assert torch.load(ckpt, weights_only=True)["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"][
        "completed"] == 2
    # resuming restarts epoch 2 from its first batch (SeqGAN draws its negatives there) and finishes the schedule
    train(compose_config([*tiny, f"ckpt_path={ckpt}"], tmp_path / "b"))
    m = read_metrics(tmp_path / "b")
    assert set(m["progress/adversarial_round"]) == {0.0, 1.0}  # both adversarial rounds ran, the first one again
    assert len(m["train/d_loss"]) == 8  # 2 epochs x 4 batches, every one with D steps
