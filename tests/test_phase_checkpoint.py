"""`PhaseEndCheckpoint`: the model as each phase leaves it (SeqGAN's end_g_pretrain.ckpt is its MLE baseline)."""

import torch

from textgan.runs.train import train

from conftest import compose_config


def _generator_state(path) -> dict[str, torch.Tensor]:
    state = torch.load(path, weights_only=True)["state_dict"]
    return {k: v for k, v in state.items() if k.startswith("generator.")}


def test_seqgan_keeps_the_generator_of_each_phase_end(tmp_path):
    cfg = compose_config(["experiment=smoke_seqgan", "test=false"], tmp_path)
    train(cfg)
    ckpts = tmp_path / "checkpoints"
    g_end = torch.load(ckpts / "end_g_pretrain.ckpt", weights_only=True)
    d_end = torch.load(ckpts / "end_d_pretrain.ckpt", weights_only=True)
    assert not (ckpts / "end_adversarial.ckpt").exists()  # the last phase ends in last.ckpt
    pretrain_epochs = cfg.method.g_pretrain_epochs
    assert g_end["epoch"] == pretrain_epochs - 1 and g_end["phase"] == "g_pretrain"
    assert d_end["epoch"] == pretrain_epochs + cfg.method.d_pretrain_rounds - 1 and d_end["phase"] == "d_pretrain"
    after_mle = _generator_state(ckpts / "end_g_pretrain.ckpt")
    after_d = _generator_state(ckpts / "end_d_pretrain.ckpt")
    final = _generator_state(ckpts / "last.ckpt")
    assert after_mle.keys() == after_d.keys() == final.keys() and after_mle
    # D pre-training leaves G as MLE made it; the adversarial rounds move it
    assert all(torch.equal(after_mle[k], after_d[k]) for k in after_mle)
    assert any(not torch.equal(after_mle[k], final[k]) for k in after_mle)


def test_single_phase_method_writes_no_phase_checkpoint(tmp_path):
    train(compose_config(["experiment=smoke_mle", "test=false"], tmp_path))
    assert not list((tmp_path / "checkpoints").glob("end_*.ckpt"))
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
