"""`generate.py`: a checkpoint -> decoded text lines (never ids), reproducible under a seed, poem layout, clear
errors; the method is rebuilt from the checkpoint's own config and vocabulary."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from textgan.cli.generate import main, poem_lines
from textgan.data.vocab import Vocabulary

from conftest import compose_config

WORDS = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran"]
HANZI = list("春眠不覺曉處聞啼鳥夜來風雨聲花落知多少")


def _checkpoint(tmp_path, tokens, separator=" ", seq_len=8):
    """A checkpoint as train.py writes it (config + vocab + weights) for an untrained MLE model."""
    from hydra.utils import instantiate

    cfg = compose_config(["experiment=smoke_mle", f"data.seq_len={seq_len}"], tmp_path / "run")
    method_cfg = OmegaConf.to_container(cfg.method, resolve=True)
    vocab = Vocabulary(["<pad>", "<bos>", "<eos>", "<unk>", *tokens], separator=separator)
    torch.manual_seed(0)
    method = instantiate(OmegaConf.create(method_cfg), vocab=vocab)
    with torch.no_grad():  # no special tokens: every sample has seq_len tokens
        method.generator.output.bias[:4] = -30.0
    path = tmp_path / "last.ckpt"
    torch.save({"config": {"method": method_cfg}, "vocab": vocab.state_dict(), "state_dict": method.state_dict()},
               path)
    return path


def test_samples_are_text_lines_reproducible_under_seed(tmp_path):
    ckpt = _checkpoint(tmp_path, WORDS)
    outs = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        out = tmp_path / f"{name}.txt"
        assert main([f"ckpt={ckpt}", "num_samples=50", "decode=sample", "temperature=1.0", f"seed={seed}",
                     f"out={out}"]) == 0
        outs.append(out.read_text(encoding="utf-8"))
    lines = outs[0].splitlines()
    assert len(lines) == 50
    assert all(line and set(line.split()) <= set(WORDS) for line in lines)  # words, never ids
    assert outs[0] == outs[1] and outs[0] != outs[2]


def test_greedy_decoding_is_deterministic(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path, WORDS)
    assert main([f"ckpt={ckpt}", "num_samples=5", "decode=greedy", "seed=3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and len(set(lines)) == 1  # unconditional greedy: one sequence


def test_poem_layout_four_lines_per_poem(tmp_path):
    expected = ["春眠不覺曉", "處處聞啼鳥", "夜來風雨聲", "花落知多少"]
    assert poem_lines("".join(expected)) == expected
    ckpt = _checkpoint(tmp_path, HANZI, separator="", seq_len=20)
    out = tmp_path / "poems.txt"
    assert main([f"ckpt={ckpt}", "num_samples=3", "layout=poem", f"out={out}"]) == 0
    poems = out.read_text(encoding="utf-8").strip("\n").split("\n\n")
    assert len(poems) == 3
    for poem in poems:
        lines = poem.split("\n")
        assert len(lines) == 4 and all(len(line) == 5 and set(line) <= set(HANZI) for line in lines)


def test_poem_layout_is_a_config_key_of_the_app(tmp_path):
    """`layout` is a key of conf/generate.yaml like any other: `layout=poem` through the real CLI writes quatrains,
    `--cfg job` shows it, and the old flag form `--layout poem` is one line naming `layout=poem`."""
    import os
    import subprocess
    import sys

    ckpt = _checkpoint(tmp_path, HANZI, separator="", seq_len=20)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def generate(*args):
        return subprocess.run([sys.executable, "-m", "textgan.cli.generate", *map(str, args)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    out = tmp_path / "poems.txt"
    ran = generate(f"ckpt={ckpt}", "num_samples=2", "layout=poem", f"out={out}")
    assert ran.returncode == 0, ran.stderr[-2000:]
    poems = out.read_text(encoding="utf-8").strip("\n").split("\n\n")
    assert len(poems) == 2 and all([len(line) for line in p.split("\n")] == [5, 5, 5, 5] for p in poems)
    assert "layout: poem" in generate("--cfg", "job", f"ckpt={ckpt}", "layout=poem").stdout
    flag = generate(f"ckpt={ckpt}", "--layout", "poem")
    expected = "error: --layout is not a flag; write layout=poem (every option is a key of the tool's config)\n"
    assert flag.returncode == 2 and flag.stderr == expected
    assert main([f"ckpt={ckpt}", "--layout=poem"]) == 2  # main() takes the app's command line


@pytest.mark.parametrize("args, message", [
    (["num_samples=3"], "ckpt=PATH is required"),
    (["ckpt=nowhere.ckpt"], "no such file"),
    (["ckpt=x", "decode=beam"], "choose one of sample, greedy"),
    (["ckpt=x", "num_sample=3"], "unknown option"),
])
def test_bad_arguments_are_one_line_errors(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_hydra_app_multirun_writes_one_file_per_decoding_setting(tmp_path):
    """`python -m textgan.cli.generate -m ... temperature=0.7,1.0`: one output per job in `<run dir>/generate/`,
    nothing in the cwd; `--cfg job` prints the composed options."""
    import os
    import subprocess
    import sys

    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    ckpt = _checkpoint(tmp_path, WORDS).rename(run_dir / "checkpoints" / "last.ckpt")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def generate(*args):
        return subprocess.run([sys.executable, "-m", "textgan.cli.generate", *args], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=120)

    proc = generate("-m", f"ckpt={ckpt}", "num_samples=4", "temperature=0.7,1.0")
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = sorted((run_dir / "generate").glob("*.txt"))
    assert [f.name for f in files] == ["num_samples=4,temperature=0.7.txt", "num_samples=4,temperature=1.0.txt"]
    assert all(len(f.read_text(encoding="utf-8").splitlines()) == 4 for f in files)
    assert list(cwd.iterdir()) == []
    cfg = generate("--cfg", "job", f"ckpt={ckpt}", "temperature=0.5")
    assert cfg.returncode == 0 and "temperature: 0.5" in cfg.stdout and "num_samples: 1000" in cfg.stdout
