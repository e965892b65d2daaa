"""SeqGAN's published oracle (data.oracle=seqgan): the numpy-only unpickler, the TF -> nn.LSTM weight mapping,
the pinned download, the authors' generator initialisation (method.generator.init=seqgan)."""

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from textgan.data import oracle as oracle_data
from textgan.data.download import ChecksumError, sha256_file
from textgan.data.numpy_pickle import UnsafePickleError, load_numpy_pickle, loads_numpy_pickle
from textgan.data.oracle import OracleDataModule, load_seqgan_oracle, read_token_file
from textgan.metrics.nll import nll_oracle
from textgan.models.lstm import LSTMGenerator
from textgan.models.oracle import seqgan_oracle_from_arrays

from conftest import compose_config


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def tf_convention_logits(arrays, tokens):
    """The authors' `target_lstm.py` in numpy (row vectors, x W + h U + b), teacher-forced on `tokens` [B, T]:
    logits [B, T, V] of every position, first input the embedding of token 0."""
    emb, wi, ui, bi, wf, uf, bf, wo_g, uo_g, bo_g, wc, uc, bc, wo, bo = (a.astype(np.float64) for a in arrays)
    b, t_len = tokens.shape
    h = np.zeros((b, ui.shape[0]))
    c = np.zeros_like(h)
    x = np.repeat(emb[[0]], b, axis=0)
    out = []
    for t in range(t_len):
        i = sigmoid(x @ wi + h @ ui + bi)
        f = sigmoid(x @ wf + h @ uf + bf)
        o = sigmoid(x @ wo_g + h @ uo_g + bo_g)
        g = np.tanh(x @ wc + h @ uc + bc)
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h @ wo + bo)
        x = emb[tokens[:, t]]
    return np.stack(out, axis=1)


def random_arrays(v=13, e=4, h=5, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(v, e)] + [(e, h), (h, h), (h,)] * 4 + [(h, v), (v,)]
    return [rng.normal(0, 1, s).astype(np.float32) for s in shapes]


def test_tf_convention_step_equals_the_mapped_lstm_on_random_arrays():
    arrays = random_arrays()
    oracle = seqgan_oracle_from_arrays(arrays)
    tokens = torch.randint(0, 13, (6, 9), generator=torch.Generator().manual_seed(1))
    expected = tf_convention_logits(arrays, tokens.numpy())
    np.testing.assert_allclose(oracle(tokens).numpy(), expected, atol=1e-5)
    # the step-by-step path (sampling, rollouts) starts from token 0's embedding too
    lg, _ = oracle.step(None, oracle.init_state(6))
    np.testing.assert_allclose(lg.numpy(), expected[:, 0], atol=1e-5)


def test_tf_convention_step_equals_the_loaded_published_oracle(real_data_dir):
    path = real_data_dir / "seqgan_oracle" / "target_params_py3.pkl"
    arrays = load_numpy_pickle(path)
    assert [a.shape for a in arrays[:4]] == [(5000, 32), (32, 32), (32, 32), (32,)] and arrays[13].shape == (32, 5000)
    oracle = load_seqgan_oracle(path).double()  # float64: the mapping, not float32 rounding, is under test
    tokens = torch.randint(0, 5000, (8, 20), generator=torch.Generator().manual_seed(2))
    np.testing.assert_allclose(oracle(tokens).numpy(), tf_convention_logits(arrays, tokens.numpy()), atol=1e-5)


def test_published_oracle_scores_its_2016_training_set_and_uniform_tokens(real_data_dir):
    root = real_data_dir / "seqgan_oracle"
    oracle = load_seqgan_oracle(root / "target_params_py3.pkl")
    real = read_token_file(root / "real_data.txt", 5000, 20)
    assert real.shape == (9984, 20)
    # drawn from this oracle: about its entropy rate, 5.75 (500 of them score 5.759); uniform tokens about 11.43
    assert abs(nll_oracle(oracle, real[:500]) - 5.75) < 0.03
    uniform = torch.randint(0, 5000, (500, 20), generator=torch.Generator().manual_seed(0))
    assert abs(nll_oracle(oracle, uniform) - 11.43) < 0.05


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_asking_for_anything_but_numpy_is_refused_without_running(tmp_path):
    marker = tmp_path / "ran"
    evil = pickle.dumps([np.zeros(3, np.float32), _RunsCode(marker)], protocol=3)
    with pytest.raises(UnsafePickleError, match=r"refusing to load (posix|os|nt)\.system"):
        loads_numpy_pickle(evil)
    assert not marker.exists()
    for obj in (eval, shutil.rmtree, Path("x")):
        with pytest.raises(UnsafePickleError):
            loads_numpy_pickle(pickle.dumps(obj, protocol=2))
    # what the guard admits: lists of numpy arrays (protocols 3 and 4)
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(2, np.float64)]
    for protocol in (3, 4):
        back = loads_numpy_pickle(pickle.dumps(arrays, protocol=protocol))
        assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(arrays, back))


def test_seqgan_oracle_download_is_pinned_and_verified(tmp_path, monkeypatch):
    pkl = tmp_path / "upstream" / "target_params_py3.pkl"
    pkl.parent.mkdir()
    pkl.write_bytes(pickle.dumps(random_arrays(), protocol=3))
    digest = sha256_file(pkl)
    monkeypatch.setitem(oracle_data.SEQGAN_FILES, "target_params_py3.pkl", (pkl.as_uri(), digest))
    dm = OracleDataModule(str(tmp_path / "cache"), vocab_size=13, embed_dim=4, hidden_dim=5, seq_len=6,
                          num_train=8, num_test=4, oracle="seqgan", root=str(tmp_path / "root"))
    assert (tmp_path / "root" / "target_params_py3.pkl").exists()
    dm.setup()
    assert dm.train_tokens.shape == (8, 6) and dm.test_tokens.shape == (4, 6)
    assert torch.equal(dm.oracle.embedding.weight, torch.from_numpy(random_arrays()[0]))
    monkeypatch.setitem(oracle_data.SEQGAN_FILES, "target_params_py3.pkl", (pkl.as_uri(), "0" * 64))
    with pytest.raises(ChecksumError):
        OracleDataModule(str(tmp_path / "cache"), vocab_size=13, embed_dim=4, hidden_dim=5, oracle="seqgan",
                         root=str(tmp_path / "other"))
    assert not (tmp_path / "other" / "target_params_py3.pkl").exists()


def test_2016_training_file_in_file_order(real_data_dir, tmp_path):
    cfg = compose_config(["data=oracle", "data.oracle=seqgan", "data.train_file=real_data.txt", "data.shuffle=false",
                          "data.num_test=64", f"data.root={real_data_dir / 'seqgan_oracle'}",
                          f"paths.cache_dir={tmp_path}"], tmp_path)
    from hydra.utils import instantiate

    dm = instantiate(cfg.data)
    dm.setup()
    first = [int(t) for t in (real_data_dir / "seqgan_oracle" / "real_data.txt").open().readline().split()]
    assert dm.train_tokens.shape == (9984, 20) and dm.train_tokens[0].tolist() == first
    batches = list(dm.train_dataloader())
    assert len(batches) == 156 and torch.equal(torch.cat(batches), dm.train_tokens)  # file order every epoch


def test_seqgan_init_is_the_authors_lstm():
    torch.manual_seed(0)
    g = LSTMGenerator(3000, 32, 32, init="seqgan")
    assert g.start is None and g.start_token == 0
    for name, p in g.named_parameters():
        if name.startswith("lstm.bias_hh"):
            assert not p.requires_grad and not p.any()
        else:
            assert p.requires_grad and abs(p.std().item() - 0.1) < 0.01 and abs(p.mean().item()) < 0.01, name
    # the first input is the embedding of token 0: same logits as a learned start vector set to that row
    ref = LSTMGenerator(3000, 32, 32)
    ref.load_state_dict({**g.state_dict(), "start": g.embedding.weight[0].detach()})
    x = g.sample(4, 5)
    assert torch.allclose(g(x), ref(x), atol=1e-6)
    # an MLE step leaves the second bias at zero (one bias per gate, as the authors' cell)
    opt = torch.optim.Adam([p for p in g.parameters() if p.requires_grad], lr=0.1)
    g.log_probs(x).sum().neg().backward()
    opt.step()
    assert not g.lstm.bias_hh_l0.any()
    default = LSTMGenerator(3000, 32, 32)
    assert default.start is not None and default.embedding.weight.std() > 0.5  # PyTorch's N(0, 1) embedding


def test_oracle_choice_and_init_are_validated(tmp_path):
    from textgan.config.validate import ConfigError, validate_config

    for override, message in (("data.oracle=seqgn", "data.oracle"), ("method.generator.init=tf", "init")):
        cfg = compose_config(["data=oracle", override], tmp_path)
        with pytest.raises(ConfigError, match=message):
            validate_config(cfg)
