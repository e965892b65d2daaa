"""`pip install .` (non-editable) trains, generates and chats: the wheel is built, installed with `--no-deps` into a
fresh venv that sees the system's torch/lightning/hydra (`--system-site-packages`), and its console scripts run
smoke jobs (train, generate, chat in batch and simulate mode, evaluate's `--help`) from a folder outside the
checkout, so nothing can come from the source tree (no `run.py`, no `conf/`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from textgan.config.compose import CONF_DIR

from conftest import REPO


def _run(cmd: list, cwd, env, timeout: int = 240) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


_BUILD_OUTPUTS = shutil.ignore_patterns(".git", "build", "*.egg-info", "outputs", "multirun", "__pycache__", "*.log",
                                        ".venv*")


def _left_out(folder: str, names: list[str]) -> set[str]:
    """What the copy of the checkout leaves out: build outputs, and the run records of `experiments/<table>/runs/`
    (but not the package `textgan/runs/`)."""
    records = {"runs"} & set(names) if Path(folder).parent.name == "experiments" else set()
    return set(_BUILD_OUTPUTS(folder, names)) | records


@pytest.mark.slow
def test_wheel_installs_and_its_console_scripts_train_generate_chat_and_evaluate(tmp_path):
    # built from a copy of the sources: an in-tree build reuses a stale build/lib and could hide a missing file
    src = tmp_path / "src"
    shutil.copytree(REPO, src, ignore=_left_out)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", src, "-w", wheels],
         tmp_path, os.environ)
    (wheel,) = wheels.glob("textgan-*.whl")
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    assert all(f"textgan/conf/{tool}.yaml" in names for tool in ("config", "generate", "chat", "evaluate"))
    assert "textgan/conf/model/generator/lstm.yaml" in names  # the deepest group
    # the wheel's textgan/conf/ is the checkout's top-level conf/: the same files, byte for byte
    packed = {n.removeprefix("textgan/conf/"): n for n in names if n.startswith("textgan/conf/")}
    checkout = {p.relative_to(REPO / "conf").as_posix(): p for p in (REPO / "conf").rglob("*") if p.is_file()}
    assert sorted(packed) == sorted(checkout)
    assert [f for f in checkout if archive.read(packed[f]) != checkout[f].read_bytes()] == []
    # and every module of the checkout's textgan/ (a package the package list missed would be left out)
    modules = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "textgan").rglob("*.py"))
    assert [m for m in modules if m not in names] == []

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv], tmp_path, os.environ)
    bin_dir = venv / "bin"
    # the venv must import the wheel's textgan, not the checkout's (drop PYTHONPATH; the system's editable
    # install, if any, is shadowed by the venv's own site-packages)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "OMP_NUM_THREADS": "1",
                "WANDB_MODE": "disabled", "TEXTGAN_CACHE": str(tmp_path / "cache"), "PYTHONNOUSERSITE": "1"})
    _run([bin_dir / "python", "-m", "pip", "install", "--no-deps", "-q", wheel], tmp_path, env)

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run([bin_dir / "python", "-c", "import textgan; print(textgan.__file__)"], work, env).stdout
    assert str(venv) in where, where
    conf = _run([bin_dir / "python", "-c", "from textgan.config.compose import CONF_DIR; print(CONF_DIR)"], work,
                env).stdout.strip()
    assert conf == os.path.join(os.path.dirname(where.strip()), "conf"), conf  # the wheel composes from its own

    run_dir = work / "run"
    _run([bin_dir / "textgan-train", "experiment=smoke_mle", "logger=csv", "method.epochs=1", "test=false",
          "num_threads=1", f"hydra.run.dir={run_dir}"], work, env)
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()

    out = work / "samples.txt"
    _run([bin_dir / "textgan-generate", f"ckpt={ckpt}", "num_samples=3", f"out={out}"], work, env)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and all(line.strip() for line in lines)
    assert sorted(p.name for p in work.iterdir()) == ["run", "samples.txt"]  # the tool wrote nothing else here

    helped = _run([bin_dir / "textgan-evaluate", "--help"], work, env).stdout
    assert "textgan-evaluate" in helped and "ckpts: []" in helped

    # chat: a seq2seq checkpoint trained by the wheel on a pairs file, answered in batch mode and simulated
    pairs = work / "pairs.tsv"
    pairs.write_text("".join(f"hello {i}\thi there {i}\n" for i in range(40)), encoding="utf-8")
    chat_run = work / "chat_run"
    _run([bin_dir / "textgan-train", "experiment=smoke_seq2seq", "data.corpus=file", f"data.path={pairs}",
          "logger=csv", "method.epochs=1", "test=false", "num_threads=1",
          f"hydra.run.dir={chat_run}"], work, env)
    chat_ckpt = chat_run / "checkpoints" / "last.ckpt"
    contexts = work / "contexts.txt"
    contexts.write_text("hello 3\nhello 7\n", encoding="utf-8")
    answered = _run([bin_dir / "textgan-chat", f"ckpt={chat_ckpt}", f"input={contexts}", "decode=greedy"], work, env)
    assert len(answered.stdout.splitlines()) == 2
    simulated = _run([bin_dir / "textgan-chat", f"ckpt={chat_ckpt}", "simulate=true", "turns=2", "input=hello 1",
                      "decode=greedy"], work, env).stdout
    assert simulated.startswith("> hello 1\nA: ") and "\nB: " in simulated


def test_checkout_composes_from_its_top_level_conf():
    assert CONF_DIR == REPO / "conf" and (CONF_DIR / "config.yaml").is_file()
