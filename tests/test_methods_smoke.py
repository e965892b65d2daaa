"""End to end through Hydra + train(): the smoke presets (`experiment=smoke_<method>`) run every phase; seeded
runs are identical; a checkpoint resumes in the right phase. (The 2-process CPU DDP run is in test_ddp.py.)"""


import pytest
import torch

from textgan.runs.train import train

from conftest import compose_config, read_metrics


@pytest.mark.parametrize("method", ["mle", "seqgan"])
def test_smoke_runs_all_phases(method, tmp_path):
    cfg = compose_config([f"experiment=smoke_{method}"], tmp_path)
    value = train(cfg)
    assert value is not None and value > 0  # val/nll_oracle was logged and returned
    m = read_metrics(tmp_path)
    assert all(m[k] for k in ("val/nll_oracle", "val/nll_test", "test/nll_oracle"))
    assert (tmp_path / "checkpoints" / "last.ckpt").exists()
    assert (tmp_path / "checkpoints" / "vocab.json").exists()
    assert list((tmp_path / "samples").glob("samples_val_*.txt"))
    if method == "seqgan":
        assert set(m["progress/phase"]) == {0, 1, 2}  # G pre-training, D pre-training, adversarial
        assert m["train/g_pg_loss"] and m["train/d_loss"]
        assert all(0 < r < 1 for r in m["train/mean_reward"])


def test_seeded_runs_are_identical(tmp_path):
    finals = []
    for run in ("a", "b"):
        cfg = compose_config(["experiment=smoke_seqgan", "seed=7", "test=false"], tmp_path / run)
        train(cfg)
        m = read_metrics(tmp_path / run)
        finals.append(m["val/nll_oracle"] + m["train/d_loss"])
    assert finals[0] == finals[1]


def test_checkpoint_resumes_in_the_right_phase(tmp_path):
    # stop after G pre-training + D pre-training (2 epochs), then resume the whole schedule from last.ckpt
    first = compose_config(["experiment=smoke_seqgan", "test=false", "trainer.max_epochs=2"], tmp_path / "a")
    train(first)
    ckpt_file = tmp_path / "a" / "checkpoints" / "last.ckpt"
    ckpt = torch.load(ckpt_file, weights_only=True)
    assert ckpt["epoch"] == 1 and ckpt["phase"] == "d_pretrain"
    assert ckpt["vocab"]["itos"][:3] == ["0", "1", "2"]
    assert len(ckpt["optimizer_states"]) == 3

    resumed = compose_config(["experiment=smoke_seqgan", "test=false", f"ckpt_path={ckpt_file}"],
                             tmp_path / "b")
    train(resumed)
    m = read_metrics(tmp_path / "b")
    assert set(m["progress/phase"]) == {2}  # only adversarial epochs ran after resuming
    assert not m.get("train/g_mle_loss")


def test_resume_with_another_vocabulary_is_a_clear_error(tmp_path):
    first = compose_config(["experiment=smoke_mle", "test=false", "trainer.max_epochs=1"], tmp_path / "a")
    train(first)
    ckpt_file = tmp_path / "a" / "checkpoints" / "last.ckpt"
    other = compose_config(["experiment=smoke_mle", "test=false", "data.vocab_size=60",
                            f"ckpt_path={ckpt_file}"], tmp_path / "b")
    with pytest.raises(Exception, match="vocabulary mismatch|size mismatch"):
        train(other)


def test_seqgan_draws_missing_pools_when_resumed_mid_epoch():
    """A mid-epoch restore (SIGTERM checkpoint, SLURM requeue) starts at batch > 0 with no negative pools."""
    from functools import partial

    from textgan.data.vocab import Vocabulary
    from textgan.methods.seqgan import SeqGAN
    from textgan.models.cnn import CNNDiscriminator
    from textgan.models.lstm import LSTMGenerator

    vocab = Vocabulary([str(i) for i in range(12)], specials=())
    m = SeqGAN(vocab, partial(LSTMGenerator, embed_dim=4, hidden_dim=4),
               partial(CNNDiscriminator, embed_dim=4, filter_sizes=[1, 2], num_filters=[3, 3]), seq_len=5,
               g_pretrain_epochs=0, d_pretrain_rounds=1, num_negatives=16, d_epochs=2, d_batch_size=8)
    d_opt = torch.optim.SGD(m.discriminator.parameters(), lr=0.1)
    m.optimizers = lambda: (None, None, d_opt)
    # no Trainer here: 16 positives, 4 batches per epoch; (16 + 16) / 8 = 4 D batches x 2 epochs spread over them
    m.positive_examples = lambda: torch.randint(0, 12, (16, 5))
    m.batches_per_epoch = lambda: 4
    steps = []

    def fake_step(opt, loss, clip=None):  # no Trainer here: plain backward + step
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps.append(loss.item())

    m.optimizer_step_with_clip = fake_step
    assert m.phase == "d_pretrain" and m.d_round is None
    before = m.discriminator.output.weight.detach().clone()
    m.training_step(torch.randint(0, 12, (4, 5)), batch_idx=3)  # the first batch after a mid-epoch restore
    pools = m.d_round.pools
    assert len(pools) == 1 and pools[0].num_negatives == 16 and pools[0].examples.shape == (32, 5)
    assert len(pools[0].orders) == 2
    assert len(steps) == 2 and not torch.equal(before, m.discriminator.output.weight)  # d_epochs D updates


def test_datamodule_sample_metrics_are_logged_for_any_method(tmp_path):
    """data=cfg scores grammar validity of samples; MLE (not only the Gumbel GAN) must log it."""
    cfg = compose_config(["experiment=smoke_mle", "data=cfg", "test=false"], tmp_path)
    train(cfg)
    m = read_metrics(tmp_path)
    assert m["val/cfg_valid"] and all(0 <= v <= 1 for v in m["val/cfg_valid"])
    assert m["val/unique"] and m["val/novel"]
