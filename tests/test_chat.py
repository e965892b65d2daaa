"""The chat CLI answers on a tiny checkpoint (batch mode from a file, and the interactive prompt); bad
arguments and missing checkpoints are clear errors. Also: dialogue metrics (response BLEU vs nltk, distinct-n
by hand)."""

import io
import subprocess
import sys

import pytest
import torch

from textgan.cli.chat import ChatError, Responder, main, parse_args
from textgan.metrics.diversity import average_length, distinct_n
from textgan.metrics.response_bleu import response_bleu
from textgan.runs.train import train

from conftest import REPO, compose_config


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    from conftest import shared_data_dir

    if shared_data_dir() is None:
        pytest.skip("TEXTGAN_DATA is not set: the tiny checkpoint is trained on the shared chatterbot corpus")
    out = tmp_path_factory.mktemp("chat")
    train(compose_config(["experiment=smoke_seq2seq",
                          "method.epochs=1", "test=false"], out))
    return out / "checkpoints" / "last.ckpt"


def test_batch_mode_answers_every_line(tiny_ckpt, tmp_path):
    contexts = tmp_path / "contexts.txt"
    contexts.write_text("What is AI?\nhello there , how are you ?\n\n", encoding="utf-8")
    out = tmp_path / "responses.txt"
    for decode in ("beam", "greedy", "sample"):
        assert main([f"ckpt={tiny_ckpt}", f"input={contexts}", f"out={out}", f"decode={decode}",
                     "beam_size=3"]) == 0
        lines = out.read_text(encoding="utf-8").split("\n")
        assert len(lines) == 4 and lines[-1] == ""  # one response per context line (the empty one included)
        assert any(line.strip() for line in lines[:3])
    # the CLI decodes what the method decodes
    responder = Responder(tiny_ckpt)
    ids = responder.method.respond(responder.encode_contexts(["What is AI?"]), "beam", beam_size=3)
    args = [f"ckpt={tiny_ckpt}", f"input={contexts}", f"out={out}", "decode=beam", "beam_size=3"]
    assert main(args) == 0
    assert out.read_text(encoding="utf-8").split("\n")[0] == responder.vocab.to_text(ids[0].tolist())


def test_interactive_prompt_answers_each_line(tiny_ckpt, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("What is AI?\nAre you sentient?\n/quit\nnever read\n"))
    assert main([f"ckpt={tiny_ckpt}", "decode=greedy"]) == 0
    answers = capsys.readouterr().out.split("\n")
    assert len(answers) == 3 and answers[-1] == ""  # two answers, then it stopped at /quit
    responder = Responder(tiny_ckpt)
    assert answers[:2] == responder.respond(["What is AI?", "Are you sentient?"], "greedy")


def test_python_m_entry_point_prints_usage():
    proc = subprocess.run([sys.executable, "-m", "textgan.cli.chat", "--help"], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0 and "ckpt=" in proc.stdout


def test_context_tokenization_follows_the_data(tiny_ckpt):
    responder = Responder(tiny_ckpt)
    ids = responder.encode_contexts(["What is AI?", "zzzunknownword"])
    vocab = responder.vocab
    assert vocab.decode(ids[0].tolist()) == ["What", "is", "AI?"]
    assert ids[1, 0].item() == vocab.unk_id and ids[1, 1].item() == vocab.eos_id


def test_bad_arguments_and_checkpoints_are_clear(tmp_path, capsys):
    with pytest.raises(ChatError, match="ckpt=path"):
        parse_args(["decode=beam"])
    with pytest.raises(ChatError, match="unknown argument"):
        parse_args(["ckpt=x", "beams=3"])
    with pytest.raises(ChatError, match="not a valid int"):
        parse_args(["ckpt=x", "beam_size=five"])
    assert main([f"ckpt={tmp_path / 'missing.ckpt'}"]) == 2
    assert "does not exist" in capsys.readouterr().err
    torch.save({"state_dict": {}}, tmp_path / "bare.ckpt")
    assert main([f"ckpt={tmp_path / 'bare.ckpt'}"]) == 2
    assert "no run config" in capsys.readouterr().err


def test_generate_on_a_dialogue_checkpoint_is_one_line_naming_chat(tiny_ckpt, capsys):
    from textgan.cli.generate import main as generate

    assert generate([f"ckpt={tiny_ckpt}", "num_samples=2"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "textgan.cli.chat" in captured.err


def test_response_bleu_matches_nltk_pair_by_pair():
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    gen = [["i", "am", "fine", "thanks"], ["see", "you"], ["no"], []]
    refs = [[["i", "am", "fine", "."]], [["see", "you", "tomorrow"]], [["yes", "please"]], [["ok"]]]
    smooth = SmoothingFunction().method1
    for n in (1, 2, 4):
        expected = sum(sentence_bleu(r, g, weights=(1 / n,) * n, smoothing_function=smooth) if g else 0.0
                       for g, r in zip(gen, refs)) / len(gen)
        assert response_bleu(gen, refs, n) == pytest.approx(expected, abs=1e-12)
    # pairing matters: the same responses against shuffled references score lower
    assert response_bleu(gen[:2], refs[::-1][2:], 2) < response_bleu(gen[:2], refs[:2], 2)


def test_distinct_n_and_length_by_hand():
    responses = [["i", "do", "not", "know"], ["i", "do", "not", "know"], ["yes"]]
    assert distinct_n(responses, 1) == pytest.approx(5 / 9)
    assert distinct_n(responses, 2) == pytest.approx(3 / 6)
    assert average_length(responses) == pytest.approx(3.0)
    assert distinct_n([[]], 2) == 0.0


def test_simulate_mode_prints_a_dialogue_between_two_copies(tiny_ckpt, tmp_path, capsys):
    assert main([f"ckpt={tiny_ckpt}", "simulate=true", "turns=3", "input=how are you ?", "decode=greedy"]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[0] == "> how are you ?" and [x[:3] for x in lines[1:4]] == ["A: ", "B: ", "A: "]
    assert lines[4:] == ["", ""]
    # greedy and context_turns=1: each turn is the model's answer to the turn before it
    responder = Responder(tiny_ckpt)
    previous = "how are you ?"
    for line in lines[1:4]:
        assert line[3:] == responder.respond([previous], "greedy")[0]
        previous = line[3:]
    # batch mode: a file of first messages, one dialogue each
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("hello\nWhat is AI?\n", encoding="utf-8")
    out = tmp_path / "dialogues.txt"
    assert main([f"ckpt={tiny_ckpt}", "simulate=true", "turns=2", f"input={inputs}", f"out={out}"]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.count("> ") == 2 and text.startswith("> hello\nA: ") and "\n> What is AI?\nA: " in text
    assert main([f"ckpt={tiny_ckpt}", "simulate=true", "turns=0", "input=hi"]) == 2
    assert main([f"ckpt={tiny_ckpt}", "simulate=maybe", "input=hi"]) == 2
    err = capsys.readouterr().err
    assert "turns=0" in err and "simulate='maybe' is not a valid bool" in err and "Traceback" not in err


def test_hydra_app_help_cfg_multirun_and_unknown_key(tiny_ckpt, tmp_path):
    """`python -m textgan.cli.chat` is a Hydra app: `--help` names the tool, `--cfg job` prints its options, a
    multirun over `decode` writes one response file per job under the run dir (nothing in the cwd), and an unknown
    key is one line."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}

    def chat(*args):
        return subprocess.run([sys.executable, "-m", "textgan.cli.chat", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    assert "textgan-chat" in chat("--help").stdout
    cfg = chat("--cfg", "job", f"ckpt={tiny_ckpt}", "decode=beam")
    assert cfg.returncode == 0 and "decode: beam" in cfg.stdout and "beam_size: null" in cfg.stdout
    contexts = tmp_path / "contexts.txt"
    contexts.write_text("hello\nhow are you ?\n", encoding="utf-8")
    swept = chat("-m", f"ckpt={tiny_ckpt}", f"input={contexts}", "decode=greedy,beam")
    assert swept.returncode == 0, swept.stderr[-2000:]
    files = sorted((tiny_ckpt.parent.parent / "chat").glob("decode=*.txt"))
    assert [f.name for f in files] == ["decode=beam.txt", "decode=greedy.txt"]
    assert all(len(f.read_text(encoding="utf-8").splitlines()) == 2 for f in files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contexts.txt"]
    unknown = chat(f"ckpt={tiny_ckpt}", "output=x.txt")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: unknown argument 'output=x.txt'; expected ")
    assert unknown.stderr.count("\n") == 1
