"""The dialogue methods' `decoding` and `simulation` settings: one node each in conf/, composed into every dialogue
method; mistakes in them are one line (naming the nested key, or where an older flat key moved); checkpoints keep
them as plain dicts; and a checkpoint written before they were nodes (flat `eval_decode`, `sim_inputs`, ...)
still rebuilds with its own values and answers exactly as before."""

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
from textgan.runs.checkpoint import SETTINGS, CheckpointError, build_method, load_method

from conftest import REPO, compose_config

DIALOGUE = ("seq2seq", "dialogue_seqgan", "dialogue_rl")
VOCAB = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", *[f"w{i}" for i in range(10)]])
# the flat keys of a checkpoint written before the settings were nodes -> where they live now (written out by
# hand: the reference for textgan.runs.checkpoint.nest_flat_settings)
OLD_FLAT = {"eval_decode": "beam", "beam_size": 3, "length_penalty": 0.5, "temperature": 0.7, "top_k": 4,
            "top_p": 0.9, "sim_inputs": 7, "sim_max_turns": 3, "dull_responses": ["w0 w1", "w2"],
            "dull_similarity": 0.6, "repeat_similarity": 0.7}
NEW_DECODING = DecodingSettings(decode="beam", beam_size=3, length_penalty=0.5, temperature=0.7, top_k=4, top_p=0.9)
NEW_SIMULATION = SimulationSettings(inputs=7, max_turns=3, dull_responses=("w0 w1", "w2"), dull_similarity=0.6,
                                    repeat_similarity=0.7)


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
    # the flat keys of an older textgan: where they are now
    (["method.beam_size=3"], "unknown config key 'method.beam_size': it moved, write method.decoding.beam_size=..."),
    (["method.eval_decode=beam"], "unknown config key 'method.eval_decode': it moved, write method.decoding.decode"),
    (["method.sim_inputs=3"], "unknown config key 'method.sim_inputs': it moved, write method.simulation.inputs="),
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


def test_an_old_flat_dialogue_checkpoint_rebuilds_with_its_values_and_answers_the_same(tmp_path):
    """A checkpoint of before the settings nodes (flat keys in config.method) loads for chat: its values land in
    `decoding`/`simulation`, and the loaded method decodes as those values say."""
    for method in DIALOGUE:
        new = _method_cfg(method, tmp_path / method)
        old = {k: v for k, v in new.items() if k not in ("decoding", "simulation")} | OLD_FLAT
        rebuilt = build_method(old, VOCAB)
        assert rebuilt.hparams.decoding == NEW_DECODING and rebuilt.hparams.simulation == NEW_SIMULATION, method
    new = _method_cfg("seq2seq", tmp_path / "seq2seq")
    torch.manual_seed(0)
    writer = build_method(new, VOCAB).eval()  # default settings: greedy
    path = tmp_path / "old.ckpt"
    old = {k: v for k, v in new.items() if k not in ("decoding", "simulation")} | OLD_FLAT
    torch.save({"config": {"method": old}, "vocab": VOCAB.state_dict(), "state_dict": writer.state_dict()}, path)
    loaded = load_method(path)
    context = torch.tensor([[4, 5, 6, VOCAB.eos_id], [7, 8, VOCAB.eos_id, VOCAB.pad_id]])
    assert torch.equal(loaded.respond(context), writer.respond(context, "beam", beam_size=3, length_penalty=0.5))
    assert loaded.dull_token_lists() == [["w0", "w1"], ["w2"]]


def test_a_settings_node_naming_another_class_is_refused(tmp_path):
    cfg = _method_cfg("seq2seq", tmp_path)
    cfg["decoding"]["_target_"] = "textgan.dialogue.simulation.SimulationSettings"
    with pytest.raises(CheckpointError,
                       match="config.method.decoding._target_='textgan.dialogue.simulation.Simulation"):
        build_method(cfg, VOCAB)
    cfg["decoding"] = {"_target_": "builtins.open", "file": "x"}
    with pytest.raises(CheckpointError, match="is not textgan.decoding.DecodingSettings; refusing"):
        build_method(cfg, VOCAB)


def test_the_settings_allow_list_is_exactly_what_conf_builds():
    found = {}
    for slot in ("decoding", "simulation"):
        for f in (REPO / "conf" / slot).glob("*.yaml"):
            found.setdefault(slot, set()).add(yaml.safe_load(f.read_text())["_target_"])
    assert found == {slot: {".".join(target)} for slot, target in SETTINGS.items()}


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
