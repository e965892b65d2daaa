"""`textgan.runs.checkpoint`: a checkpoint rebuilds only textgan's own classes. Tampered checkpoints (a `_target_`
nested in a value, a foreign method or model class, `_args_`/`_partial_` from the file) are refused in one line by
`load_method`, `generate.py` and `textgan.cli.chat`, and nothing they name runs (no file written)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from textgan.cli.generate import main as generate_main
from textgan.data.vocab import Vocabulary
from textgan.runs.checkpoint import CheckpointError, load_method

from conftest import compose_config

WORDS = ["the", "cat", "sat", "on", "a", "mat"]


def _save(tmp_path: Path, method_cfg: dict, name: str = "model.ckpt") -> Path:
    """A checkpoint as train.py writes it (config + vocab + weights) of an untrained MLE model built from
    textgan's own config, with `method_cfg` stored as its config (possibly tampered)."""
    cfg = compose_config(["experiment=smoke_mle", "data.seq_len=6"], tmp_path / "run")
    clean = OmegaConf.to_container(cfg.method, resolve=True)
    vocab = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", *WORDS])
    torch.manual_seed(0)
    method = instantiate(OmegaConf.create(clean), vocab=vocab)
    path = tmp_path / name
    torch.save({"config": {"method": method_cfg}, "vocab": vocab.state_dict(), "state_dict": method.state_dict()},
               path)
    return path


def _clean_method_cfg(tmp_path: Path) -> dict:
    cfg = compose_config(["experiment=smoke_mle", "data.seq_len=6"], tmp_path / "run")
    return OmegaConf.to_container(cfg.method, resolve=True)


def _attacks(target: Path) -> dict[str, dict]:
    """Config values that write `target` when given to `hydra.utils.instantiate`."""
    src = target.parent / "source.txt"
    src.write_text("payload")
    path = {"_target_": "pathlib.Path", "_args_": [str(target)]}
    return {
        # the attack: a plain int wrapping a file write
        "write_text_atomic": {"_target_": "builtins.max", "_args_": [64, {"_target_": "builtins.len", "_args_": [
            [{"_target_": "textgan.data.download.write_text_atomic", "path": path, "text": "pwned"}]]}]},
        "open": {"_target_": "builtins.max", "_args_": [64, {"_target_": "builtins.len", "_args_": [
            [{"_target_": "builtins.open", "_args_": [str(target), "w"]}]]}]},
        "shutil": {"_target_": "builtins.max", "_args_": [64, {"_target_": "builtins.len", "_args_": [
            {"_target_": "shutil.copyfile", "_args_": [str(src), str(target)]}]}]},
        "pathlib": {"_target_": "builtins.max", "_args_": [64, {"_target_": "pathlib.Path.write_text", "_args_": [
            path, "pwned"]}]},
        "urllib": {"_target_": "builtins.max", "_args_": [64, {"_target_": "builtins.len", "_args_": [
            {"_target_": "urllib.request.urlretrieve", "_args_": [src.as_uri(), str(target)]}]}]},
    }


ATTACKS = ["write_text_atomic", "open", "shutil", "pathlib", "urllib"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_attack_is_real_under_instantiate(attack, tmp_path):
    """Control: a loader that calls `instantiate` on the stored config does write the file."""
    target = tmp_path / "pwned.txt"
    method_cfg = _clean_method_cfg(tmp_path)
    method_cfg["num_eval_samples"] = _attacks(target)[attack]
    vocab = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", *WORDS])
    instantiate(OmegaConf.create(method_cfg), vocab=vocab)
    assert target.exists()


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("where", ["method", "model"])
def test_nested_target_is_refused_and_nothing_is_written(attack, where, tmp_path, capsys):
    target = tmp_path / "pwned.txt"
    method_cfg = _clean_method_cfg(tmp_path)
    if where == "method":
        method_cfg["num_eval_samples"] = _attacks(target)[attack]
    else:
        method_cfg["generator"]["hidden_dim"] = _attacks(target)[attack]
    ckpt = _save(tmp_path, method_cfg)
    with pytest.raises(CheckpointError, match="refusing"):
        load_method(ckpt)
    assert not target.exists()
    out = tmp_path / "samples.txt"
    assert generate_main([f"ckpt={ckpt}", "num_samples=2", f"out={out}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refusing" in err and "Traceback" not in err
    assert not target.exists() and not out.exists()


def _tampered(tmp_path: Path, target: Path) -> dict[str, dict]:
    base = _clean_method_cfg(tmp_path)
    src = target.parent / "source.txt"
    src.write_text("payload")
    variants = {}
    variants["foreign method class"] = {"_target_": "shutil.copyfile", "src": str(src), "dst": str(target)}
    variants["textgan function as method"] = {"_target_": "textgan.data.download.write_text_atomic",
                                              "path": str(target), "text": "x"}
    foreign_model = copy.deepcopy(base)
    foreign_model["generator"] = {"_target_": "shutil.copyfile", "_partial_": True, "src": str(src),
                                  "dst": str(target)}
    variants["foreign model class"] = foreign_model
    args = copy.deepcopy(base)
    args["_args_"] = [{"_target_": "shutil.copyfile", "_args_": [str(src), str(target)]}]
    variants["_args_ on the method"] = args
    model_args = copy.deepcopy(base)
    model_args["generator"]["_args_"] = [str(target)]
    variants["_args_ on a model"] = model_args
    partial_value = copy.deepcopy(base)
    partial_value["num_eval_samples"] = {"_partial_": True, "_target_": "builtins.open", "file": str(target)}
    variants["_partial_ in a value"] = partial_value
    unknown = copy.deepcopy(base)
    unknown["callback"] = {"_target_": "shutil.copyfile", "_args_": [str(src), str(target)]}
    variants["unknown key"] = unknown
    hydra_key = copy.deepcopy(base)
    hydra_key["_recursive_"] = True
    variants["_recursive_ on the method"] = hydra_key
    model_in_value = copy.deepcopy(base)
    model_in_value["num_eval_samples"] = {"_target_": "textgan.models.lstm.LSTMGenerator", "vocab_size": 3}
    variants["a textgan model outside a model slot"] = model_in_value
    not_a_node = copy.deepcopy(base)
    not_a_node["generator"] = "builtins.print"
    variants["a model slot that is not a node"] = not_a_node
    bad_value = copy.deepcopy(base)
    bad_value["generator"]["hidden_dim"] = "wide"
    variants["a value the class rejects"] = bad_value
    foreign_optimizer = copy.deepcopy(base)
    foreign_optimizer["optimizer"] = {"_target_": "shutil.copyfile", "_partial_": True, "src": str(src),
                                      "dst": str(target)}
    variants["an optimiser slot naming a foreign class"] = foreign_optimizer
    optimizer_args = copy.deepcopy(base)
    optimizer_args["optimizer"]["_args_"] = [{"_target_": "shutil.copyfile", "_args_": [str(src), str(target)]}]
    variants["_args_ on an optimiser"] = optimizer_args
    optimizer_value = copy.deepcopy(base)
    optimizer_value["optimizer"]["lr"] = {"_target_": "shutil.copyfile", "_args_": [str(src), str(target)]}
    variants["a _target_ in an optimiser's setting"] = optimizer_value
    return variants


def test_every_tampered_variant_is_refused(tmp_path):
    target = tmp_path / "pwned.txt"
    for name, method_cfg in _tampered(tmp_path, target).items():
        ckpt = _save(tmp_path, method_cfg)
        with pytest.raises(CheckpointError) as info:
            load_method(ckpt)
        assert "\n" not in str(info.value), name
        assert not target.exists(), name


def test_chat_refuses_a_tampered_checkpoint(tmp_path, capsys):
    from textgan.cli.chat import main as chat_main

    target = tmp_path / "pwned.txt"
    method_cfg = _clean_method_cfg(tmp_path)
    method_cfg["num_eval_samples"] = _attacks(target)["write_text_atomic"]
    ckpt = _save(tmp_path, method_cfg)
    assert chat_main([f"ckpt={ckpt}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refusing" in err
    assert not target.exists()


def test_clean_checkpoint_rebuilds_the_same_model(tmp_path):
    ckpt = _save(tmp_path, _clean_method_cfg(tmp_path))
    method = load_method(ckpt)
    saved = torch.load(ckpt, weights_only=True)["state_dict"]
    assert type(method).__name__ == "MLE" and not method.training
    assert method.state_dict().keys() == saved.keys()
    assert all(torch.equal(v, saved[k]) for k, v in method.state_dict().items())
    assert method.run_config["method"]["_target_"] == "textgan.methods.mle.MLE"


def test_unreadable_checkpoints_are_one_line_without_weights_only_advice(tmp_path):
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"\x00not a checkpoint" * 10)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(_save(tmp_path, _clean_method_cfg(tmp_path)).read_bytes()[:500])
    pickled = tmp_path / "pickled.ckpt"
    torch.save({"config": {"method": {}}, "obj": Path("x")}, pickled)
    for path in (garbage, truncated, pickled):
        with pytest.raises(CheckpointError) as info:
            load_method(path)
        message = str(info.value)
        assert "\n" not in message and "weights_only=False" not in message and str(path) in message


def test_the_optimiser_node_is_checked_but_not_built(tmp_path):
    """A loaded method keeps its default optimiser: the stored node's settings are never called."""
    stored = _clean_method_cfg(tmp_path)
    stored["optimizer"] = {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.5, "momentum": 0.9}
    method = load_method(_save(tmp_path, stored))
    assert method.optimizer.func is torch.optim.Adam and method.optimizer.keywords["lr"] == 0.01
