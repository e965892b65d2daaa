"""The dialogue methods' `decoding` and `simulation` settings: one node each in conf/, composed into every dialogue
method; mistakes in them are one line (naming the nested key); checkpoints keep them as plain dicts."""

from __future__ import annotations

import pytest
import torch
import yaml
from hydra.utils import instantiate
from omegaconf import OmegaConf

from textgan.config.validate import check_overrides
from textgan.data.vocab import Vocabulary
from textgan.decoding import DecodingSettings
from textgan.dialogue.simulation import SimulationSettings
from textgan.errors import ConfigError
from textgan.runs.checkpoint import CheckpointError, build_method, load_method

from conftest import REPO, compose_config

DIALOGUE = ("seq2seq", "dialogue_seqgan", "dialogue_rl")
VOCAB = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", *[f"w{i}" for i in range(10)]])


def _method_cfg(method: str, tmp_path) -> dict:
    cfg = compose_config([f"experiment=smoke_{method}", "data.seq_len=6"], tmp_path)
    return OmegaConf.to_container(cfg.method, resolve=True)


@pytest.mark.parametrize("method", DIALOGUE)
def test_every_dialogue_method_composes_the_one_decoding_and_simulation_node(method, tmp_path):
    node = _method_cfg(method, tmp_path)
    for slot, file in (("decoding", "decoding/default.yaml"), ("simulation", "simulation/default.yaml")):
        expected = yaml.safe_load((REPO / "conf" / file).read_text())
        if method == "dialogue_rl" and slot == "simulation":  # its smoke preset simulates fewer dialogues
            expected.update(inputs=8, max_turns=4)
        assert node[slot] == expected, slot
    built = instantiate(OmegaConf.create(node), vocab=VOCAB)
    assert isinstance(built.hparams.decoding, DecodingSettings)
    assert isinstance(built.hparams.simulation, SimulationSettings)


@pytest.mark.parametrize("overrides, message", [
    (["method.decoding.beam_size=0"], "method.decoding.beam_size=0 is out of range; give an integer >= 1"),
    (["method.simulation.inputs=-1"], "method.simulation.inputs=-1 is out of range; give an integer >= 0"),
    (["method.simulation.dull_similarity=1.5"],
     "method.simulation.dull_similarity=1.5 is out of range; give a number in [0, 1]"),
    (["method.decoding.beam_sise=3"], "unknown config key 'method.decoding.beam_sise' (did you mean beam_size?)"),
    (["method.decoding=beam"], "'method.decoding' must be a node of DecodingSettings (decode, beam_size, "),
    (["method.simulation.dull_responses=oops"],
     "'method.simulation.dull_responses' must be tuple[str, ...] or null, got 'oops' (str)"),
])
def test_mistakes_in_the_settings_are_one_line(overrides, message):
    with pytest.raises(ConfigError) as info:
        check_overrides(["method=seq2seq", "data=dialogue", *overrides])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_settings_check_themselves_when_built_in_python():
    with pytest.raises(ConfigError, match=r"^decoding.top_p=0 is out of range; give a number in \(0, 1\]$"):
        DecodingSettings(top_p=0)
    with pytest.raises(ConfigError, match=r"^decoding.decode must be one of .*got 'nucleus'$"):
        DecodingSettings(decode="nucleus")
    assert SimulationSettings(dull_responses=OmegaConf.create(["a b"])).dull_responses == ("a b",)


def test_a_settings_node_naming_another_class_is_refused(tmp_path):
    cfg = _method_cfg("seq2seq", tmp_path)
    cfg["decoding"]["_target_"] = "textgan.dialogue.simulation.SimulationSettings"
    with pytest.raises(CheckpointError,
                       match="config.method.decoding._target_='textgan.dialogue.simulation.Simulation"):
        build_method(cfg, VOCAB)
    cfg["decoding"] = {"_target_": "builtins.open", "file": "x"}
    with pytest.raises(CheckpointError, match="is not textgan.decoding.DecodingSettings; refusing"):
        build_method(cfg, VOCAB)


def test_a_checkpoint_holds_the_settings_as_plain_dicts(tmp_path, request):
    """`torch.load(weights_only=True)` reads the hyper-parameters: the settings are dicts there, not dataclasses."""
    request.getfixturevalue("real_data_dir")  # skips without TEXTGAN_DATA
    from textgan.runs.train import train

    train(compose_config(["experiment=smoke_seq2seq", "method.epochs=1", "test=false", "method.decoding.beam_size=2"],
                         tmp_path))
    hparams = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["hyper_parameters"]
    assert hparams["decoding"] == {"decode": "greedy", "beam_size": 2, "length_penalty": 0.0, "temperature": 1.0,
                                   "top_k": 0, "top_p": 1.0}
    assert hparams["simulation"] == {"inputs": 100, "max_turns": 8, "dull_responses": None, "dull_similarity": 0.8,
                                     "repeat_similarity": 0.8}
    assert load_method(tmp_path / "checkpoints" / "last.ckpt").hparams.decoding.beam_size == 2
