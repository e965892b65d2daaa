"""Every user mistake is one line (`error: <problem>; <fix>`), exit status != 0, no traceback, found before any
work, and nothing in an existing run dir changes.

Most values are checked in-process through `run.py`'s own `check_command_line` and the tools' `main`; a handful
of real CLI processes (`python run.py`, `python generate.py`, `python -m textgan.cli.chat`, `python -m
textgan.cli.report`) check the whole path, including what Hydra and Lightning print."""

from __future__ import annotations

import errno
import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from hydra.errors import InstantiationException

from textgan import errors
from textgan.cli.train import check_writable
from textgan.config.validate import ConfigError
from textgan.data.download import DataFileError, read_text
from textgan.data.vocab import Vocabulary, VocabularyMismatchError
from textgan.metrics.nll import perplexity
from textgan.ranges import PositiveFloat, Probability, Range, check_value
from textgan.runs.checkpoint import check_checkpoint

from conftest import REPO, compose_config, read_metrics

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
PAIRINGS = ("valid pairings: method=gumbel_gan|mle|relgan|seqgan|wgan_gp with "
            "data=cfg|char_text|chinese_poetry|image_coco|oracle|text_file; "
            "method=dialogue_rl|dialogue_seqgan|seq2seq with data=dialogue")


def _run_module():
    spec = importlib.util.spec_from_file_location("textgan_run", REPO / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    return run


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1",
           "TEXTGAN_CACHE": str(tmp_path / "cache"), **extra}
    env.pop("HYDRA_FULL_ERROR", None)
    return {**env, **extra}


def _cli(args: list[str], tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, env=_env(tmp_path, **extra), capture_output=True,
                          text=True, timeout=300)


def _assert_one_line(stderr: str, status: int, message: str) -> None:
    assert status != 0
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert message in lines[0], lines[0]


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}


@pytest.fixture
def finished_run(tmp_path) -> Path:
    """An existing run dir (the files a finished run leaves) next to where the failing runs start."""
    run = tmp_path / "outputs" / "mle_oracle" / "2026-01-01_00-00-00"
    for name, text in {".hydra/config.yaml": "seed: 1\n", ".hydra/overrides.yaml": "- method=mle\n",
                       "checkpoints/run_config.json": "{}", "checkpoints/last.ckpt": "weights",
                       "csv/metrics.csv": "epoch,val/nll_oracle\n0,9.0\n", "run.log": "done\n"}.items():
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text(text)
    return run


# ------------------------------------------------------------------------------- run.py, in-process
@pytest.mark.parametrize("argv, message", [
    (["method.num_rollouts=-2"], "method.num_rollouts=-2 is out of range; give an integer >= 1"),
    (["method=seqgan", "method.rollout_update_rate=1.5"],
     "method.rollout_update_rate=1.5 is out of range; give a number in [0, 1]"),
    (["eval_every=0"], "eval_every=0 is out of range; give an integer >= 1"),
    (["data.num_train=0"], "data.num_train=0 is out of range; give an integer >= 1"),
    (["data.batch_size=0"], "data.batch_size=0 is out of range; give an integer >= 1"),
    (["data.batch_size=-1"], "data.batch_size=-1 is out of range; give an integer >= 1"),
    (["method=mle", "method.optimizer.lr=-0.01"],  # 0 freezes: valid
     "method.optimizer.lr=-0.01 is out of range; give a number >= 0"),
    (["method=seq2seq", "data=dialogue", "method.decoding.top_p=0"],
     "method.decoding.top_p=0 is out of range; give a number in (0, 1]"),
    (["method=seqgan", "seed=1,2", "method.num_rollouts=4,0"], "method.num_rollouts=0 is out of range"),
    (["method.rollout_policy=delay"], "'method.rollout_policy' must be one of 'current', 'delayed', got 'delay'"),
    (["method=dialogue_seqgan", "data=dialogue", "method.reward=bleu"],
     "'method.reward' must be one of 'regs', 'sequence', got 'bleu' (str)"),
    (["method=seq2seq", "data=dialogue", "method.decoding.decode=nucleus"],
     "'method.decoding.decode' must be one of 'greedy', 'sample', 'beam', got 'nucleus' (str)"),
    (["data=text_file"], "data.path is required (it is ??? in the config); give it on the command line: data.path=..."),
    (["method=seqgan", "data=dialogue"], "method=seqgan trains on unconditional token sequences, but data=dialogue "
                                         f"provides (context, response) pairs; {PAIRINGS}"),
    (["method=wgan_gp", "data=dialogue"], "method=wgan_gp trains on unconditional token sequences"),
    (["method=seq2seq", "data=oracle"], "method=seq2seq trains on (context, response) pairs, but data=oracle "
                                        "provides unconditional token sequences"),
])
def test_run_py_mistakes_are_one_line_before_hydra_starts(argv, message, tmp_path, capsys):
    run = _run_module()
    target = tmp_path / "outputs" / "new"
    with pytest.raises(SystemExit) as info:
        run.check_command_line([*argv, f"hydra.run.dir={target}"])
    _assert_one_line(capsys.readouterr().err, info.value.code, message)
    assert not target.exists()  # Hydra never started: no run dir


@pytest.mark.parametrize("overrides, message", [
    ([f"trainer.devices={CORES + 1}", "trainer.accelerator=cpu"],
     f"trainer.devices={CORES + 1}: this machine has {CORES} CPU core(s) and no GPU; use trainer.devices<={CORES}"),
    (["trainer.devices=0"], "trainer.devices=0 is out of range; give a number of devices >= 1 (or -1: all)"),
    (["trainer.accelerator=cpu", "trainer.devices=2"], "trainer.devices=2 needs a data-parallel strategy"),
    (["trainer.accelerator=gpu"], "trainer.accelerator=gpu: no CUDA GPU is visible on this machine; use trainer=cpu"),
])
def test_devices_that_do_not_exist_stop_train_before_data_is_built(overrides, message, tmp_path):
    from textgan.runs.train import train

    if "trainer.accelerator=gpu" in overrides and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    if "trainer.devices=2" in overrides and CORES < 2:
        pytest.skip("needs 2 CPU cores")
    cache = tmp_path / "cache"
    cfg = compose_config(["experiment=smoke_mle", *overrides, f"data.cache_dir={cache}"], tmp_path / "run")
    with pytest.raises(ConfigError) as info:
        train(cfg)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not cache.exists() and not (tmp_path / "run").exists()  # no data built, no run dir written


def test_the_documented_data_parallel_config_passes(tmp_path):
    from textgan.config.checks import check_devices

    if CORES < 2:
        pytest.skip("needs 2 CPU cores")
    check_devices(compose_config(["trainer=ddp", "trainer.accelerator=cpu"], tmp_path))


def test_boundary_values_pass():
    _run_module().check_command_line(["method.num_rollouts=1", "eval_every=1", "data.batch_size=1",
                                      "method.rollout_update_rate=0"])
    _run_module().check_command_line(["method.rollout_update_rate=1.0", "method.d_steps=0"])
    _run_module().check_command_line(["method=seq2seq", "data=dialogue", "method.decoding.top_p=1.0",
                                      "method.decoding.top_k=0"])


def test_ranges_by_hand():
    positive, unit = Range(0, low_open=True), Range(0, 1, low_open=True)
    assert not positive.accepts(0) and positive.accepts(1e-12) and positive.accepts(5)
    assert not unit.accepts(0.0) and unit.accepts(1.0) and not unit.accepts(1.0000001)
    assert str(positive) == "> 0" and str(unit) == "in (0, 1]" and str(Range(1)) == ">= 1"
    check_value("temperature", 2, PositiveFloat)  # an int is a number
    with pytest.raises(ConfigError, match=r"^top_p=True is not a number; give a number in \(0, 1\]$"):
        check_value("top_p", True, Probability)


def test_constructors_check_their_ranges_too(tmp_path):
    from textgan.data.oracle import OracleDataModule
    from textgan.methods.mle import MLE
    from textgan.optim import adam

    with pytest.raises(ConfigError, match=r"^data.batch_size=0 is out of range; give an integer >= 1$"):
        OracleDataModule(cache_dir=str(tmp_path), batch_size=0)
    with pytest.raises(ConfigError, match=r"^method.optimizer.lr=-0.1 is out of range; give a number >= 0$"):
        MLE(vocab=None, generator=None, seq_len=4, optimizer=adam(lr=-0.1))


def test_a_constructors_own_check_is_one_line_through_instantiate(tmp_path, capsys):
    from textgan.runs.train import train

    cfg = compose_config(["method=seq2seq", "data=dialogue", "data.corpus=foo"], tmp_path / "run")
    with pytest.raises(InstantiationException) as info:
        train(cfg)
    assert errors.handle(info.value) == 2
    _assert_one_line(capsys.readouterr().err, 2, "error: data.corpus must be one of ('dailydialog', ")
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------- the mapping itself
def test_foreign_errors_map_to_one_line_and_bugs_keep_their_traceback(monkeypatch):
    mismatch = RuntimeError('Error(s) in loading state_dict for SeqGAN:\n\tMissing key(s) in state_dict: "d.w", '
                            '"d.b", "d.c", "d.e". \n\tUnexpected key(s) in state_dict: "x". ')
    assert errors.user_message(mismatch) == (
        "the checkpoint's weights do not fit SeqGAN (missing d.w (+3 more); unexpected x): it was "
        "written by another method or model; load it with the method=/model= (and model sizes) it was trained "
        "with, or start without ckpt_path")
    full = OSError(errno.ENOSPC, "No space left on device", "/x/last.ckpt")
    assert errors.user_message(full).startswith("cannot write /x/last.ckpt: no space left on device; free some disk")
    readonly = OSError(errno.EROFS, "Read-only file system", "/ro/run")
    assert errors.user_message(readonly).startswith("cannot write /ro/run: read-only file system; choose a folder")
    try:
        try:
            raise ConfigError("data.batch_size=0 is out of range; give an integer >= 1")
        except ConfigError as inner:
            raise InstantiationException("Error in call to target 'X':\nConfigError(...)") from inner
    except InstantiationException as wrapped:
        assert errors.user_message(wrapped) == "data.batch_size=0 is out of range; give an integer >= 1"
    assert errors.user_message(RuntimeError("index out of range")) is None  # a bug: traceback
    assert errors.user_message(KeyError("x")) is None
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    assert errors.handle(ConfigError("x")) is None  # the full trace was asked for


def test_non_finite_stop_exits_1_config_mistakes_2():
    from textgan.runs.callbacks.faults import NonFiniteError

    assert errors.exit_status(NonFiniteError("nan")) == 1 and errors.exit_status(ConfigError("x")) == 2


# ------------------------------------------------------------------------------- corpus files
def test_nul_bytes_are_refused_and_user_files_are_never_to_be_deleted(tmp_path):
    nul = tmp_path / "nul.txt"
    nul.write_bytes(b"one line\nfoo\x00bar\n")
    with pytest.raises(DataFileError, match=r"nul\.txt holds NUL bytes \(byte 12, line 2\)") as info:
        read_text(nul)
    assert "delete" not in str(info.value)
    with pytest.raises(DataFileError, match="re-save it as utf-8 text or delete it so that it is rebuilt"):
        read_text(nul, built=True)
    for name, data in (("empty.txt", b" \n"), ("latin.txt", b"caf\xe9\n")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataFileError) as info:
            read_text(tmp_path / name)
        assert "delete" not in str(info.value).lower()
        with pytest.raises(DataFileError, match="delete it so that it is rebuilt"):
            read_text(tmp_path / name, built=True)
    with pytest.raises(DataFileError, match="does not exist; check the path") as info:
        read_text(tmp_path / "missing.txt")
    assert "delete" not in str(info.value)


def test_user_corpus_through_the_data_module_never_says_delete(tmp_path):
    from textgan.data.text_file import TextFileDataModule

    corpus = tmp_path / "mine.txt"
    corpus.write_bytes("a b\n".encode("utf-16"))  # UTF-16: NUL bytes
    with pytest.raises(DataFileError, match="holds NUL bytes") as info:
        TextFileDataModule(path=str(corpus), seq_len=8).setup()
    assert "delete" not in str(info.value)


# ------------------------------------------------------------------------------- perplexity
def test_perplexity_is_inf_instead_of_an_overflow():
    assert perplexity(math.log(3.0)) == pytest.approx(3.0)
    assert perplexity(709.0) == math.exp(709.0) and perplexity(710.0) == math.inf and perplexity(1e6) == math.inf


class Blowup(pl.Callback):
    """Scales the generator's output layer before an evaluation so that the held-out NLL exceeds ~710 nats."""

    def on_validation_epoch_start(self, trainer, pl_module):
        with torch.no_grad():
            pl_module.generator.output.weight.mul_(1e5)


def test_huge_nll_logs_inf_perplexity_and_the_run_finishes(tmp_path):
    from textgan.runs.train import train

    cfg = compose_config(["experiment=smoke_mle", "method.epochs=1", "test=false",
                          "+callbacks.blowup._target_=test_errors.Blowup"], tmp_path)
    train(cfg)
    metrics = read_metrics(tmp_path)
    assert metrics["val/nll_test"][-1] > 710 and metrics["val/perplexity"][-1] == math.inf


# ------------------------------------------------------------------------------- checkpoints, output dirs
def _mle_checkpoint(tmp_path: Path) -> tuple[Path, object]:
    """A checkpoint as train.py writes it (config + vocab + weights) of an untrained MLE on the smoke oracle."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = compose_config(["experiment=smoke_mle"], tmp_path / "mle")
    data = instantiate(cfg.data)
    data.setup("fit")
    method = instantiate(cfg.method, vocab=data.vocab)
    path = tmp_path / "mle.ckpt"
    config = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("method",)}
    torch.save({"config": config, "vocab": data.vocab.state_dict(), "state_dict": method.state_dict(),
                "loops": {}}, path)  # "loops": passes the resume probe, so the weight check is what refuses it
    return path, data.vocab


def test_checkpoint_of_another_method_or_size_is_refused_naming_it(tmp_path):
    from hydra.utils import instantiate

    path, vocab = _mle_checkpoint(tmp_path)
    seqgan = instantiate(compose_config(["experiment=smoke_seqgan"], tmp_path / "s").method, vocab=vocab)
    with pytest.raises(ConfigError, match=r"holds weights of method=mle that do not fit this run's SeqGAN \(missing "
                                          r"discriminator\.embedding\.weight \(\+\d+ more\)\); resume it with "
                                          r"method=mle"):
        check_checkpoint(seqgan, path)
    smaller = instantiate(compose_config(["experiment=smoke_mle", "method.generator.hidden_dim=16"],
                                         tmp_path / "m").method, vocab=vocab)
    with pytest.raises(ConfigError, match=r"\(generator\.lstm\.weight_ih_l0 has shape \[128, \d+\] in the "
                                          r"checkpoint, \[64, \d+\] here \(\+\d+ more\)\); .*generator\.hidden_dim=32"):
        check_checkpoint(smaller, path)
    same = instantiate(compose_config(["experiment=smoke_mle"], tmp_path / "m2").method, vocab=vocab)
    check_checkpoint(same, path)  # fits: no error
    other_vocab = Vocabulary.from_state_dict({**vocab.state_dict(), "itos": [*vocab.itos[:-1], "zebra"]})
    other = instantiate(compose_config(["experiment=smoke_mle"], tmp_path / "m3").method, vocab=other_vocab)
    with pytest.raises(VocabularyMismatchError, match="Load the checkpoint with the same data config") as info:
        check_checkpoint(other, path)
    assert errors.user_message(info.value).count("vocabulary mismatch") == 1  # a UserError: one line


def test_output_dir_that_cannot_be_created(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=r"a_file is not a folder; choose another hydra.run.dir"):
        check_writable(blocker / "run")
    check_writable(tmp_path / "new" / "run")
    assert list(tmp_path.iterdir()) == [blocker]  # the probe leaves nothing behind

    class Full:
        f_bavail = 0

    monkeypatch.setattr(os, "statvfs", lambda path: Full())
    with pytest.raises(ConfigError, match=r"cannot write .*\(no space left on device\); .* or free some disk space"):
        check_writable(tmp_path / "new" / "run")


# ------------------------------------------------------------------------------- generate / chat / report
@pytest.mark.parametrize("args, message", [
    (["temperature=0"], "temperature=0 is out of range; give a number > 0 (decode=greedy takes the most likely"),
    (["temperature=-1"], "temperature=-1 is out of range; give a number > 0"),
    (["top_p=0"], "top_p=0 is out of range; give a number in (0, 1]"),
    (["top_p=1.5"], "top_p=1.5 is out of range; give a number in (0, 1]"),
    (["top_k=abc"], "top_k='abc' is not an integer; give an integer >= 0"),
    (["top_k=-3"], "top_k=-3 is out of range; give an integer >= 0"),
    (["batch_size=0"], "batch_size=0 is out of range; give an integer >= 1"),
    (["num_samples=0"], "num_samples=0 is out of range; give an integer >= 1"),
    (["device=tpu"], "device=tpu: choose one of auto, cpu, cuda"),
])
def test_generate_values_are_checked_before_the_checkpoint_is_read(args, message, tmp_path, capsys):
    from textgan.cli.generate import main

    ckpt = tmp_path / "never_read.ckpt"  # does not exist: the value is refused first
    assert main([f"ckpt={ckpt}", *args]) == 2
    _assert_one_line(capsys.readouterr().err, 2, message)


@pytest.mark.parametrize("args, message", [
    (["batch_size=0"], "batch_size=0 is out of range; give an integer >= 1"),
    (["beam_size=0"], "beam_size=0 is out of range; give an integer >= 1"),
    (["temperature=0"], "temperature=0.0 is out of range; give a number > 0"),
    (["top_p=2"], "top_p=2.0 is out of range; give a number in (0, 1]"),
    (["max_len=0"], "max_len=0 is out of range; give an integer >= 1"),
    (["decode=nucleus"], "decode=nucleus: choose one of greedy, sample, beam"),
])
def test_chat_values_are_checked_before_the_checkpoint_is_read(args, message, tmp_path, capsys):
    from textgan.cli.chat import main

    assert main([f"ckpt={tmp_path / 'never_read.ckpt'}", *args]) == 2
    _assert_one_line(capsys.readouterr().err, 2, message)


# ------------------------------------------------------------------------------- real CLI processes
def test_full_error_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ConfigError, match="method.num_rollouts=-2"):  # raised, not turned into SystemExit
        _run_module().check_command_line(["method.num_rollouts=-2"])


def test_cli_run_py_pairing(tmp_path, finished_run):
    before = _snapshot(finished_run)
    new = finished_run.parent / "new"
    proc = _cli(["run.py", "method=seqgan", "data=dialogue", f"hydra.run.dir={new}"], tmp_path)
    _assert_one_line(proc.stderr, proc.returncode, "method=seqgan trains on unconditional token sequences")
    assert proc.returncode == 2 and not new.exists()
    assert _snapshot(finished_run) == before


def test_cli_run_py_bad_corpus_and_foreign_checkpoint_inside_the_job(tmp_path, finished_run):
    before = _snapshot(finished_run)
    corpus = tmp_path / "mine.txt"
    corpus.write_bytes(b"one two\nthree\x00four\n")
    proc = _cli(["run.py", "experiment=smoke_mle", "data=text_file", f"data.path={corpus}", "logger=csv",
                 f"hydra.run.dir={finished_run.parent / 'a'}"], tmp_path)
    _assert_one_line(proc.stderr, proc.returncode, f"corpus file {corpus} holds NUL bytes (byte 13, line 2)")
    assert "delete" not in proc.stderr
    ckpt, _ = _mle_checkpoint(tmp_path)
    proc = _cli(["run.py", "experiment=smoke_seqgan", "logger=csv", f"ckpt_path={ckpt}",
                 f"hydra.run.dir={finished_run.parent / 'b'}"], tmp_path)
    _assert_one_line(proc.stderr, proc.returncode, "holds weights of method=mle that do not fit this run's SeqGAN")
    assert not (finished_run.parent / "b" / "checkpoints" / "last.ckpt").exists()
    assert _snapshot(finished_run) == before


def test_run_py_output_dir_not_writable(tmp_path, capsys):
    folder = Path("/sys")  # root may write anywhere on a normal file system, not into /sys
    if os.geteuid() != 0:
        folder = tmp_path / "readonly"
        folder.mkdir()
        folder.chmod(0o555)
    try:
        (folder / "textgan_probe").mkdir()
        (folder / "textgan_probe").rmdir()
        pytest.skip(f"this user can write to {folder}")
    except OSError:
        pass
    with pytest.raises(SystemExit) as info:
        _run_module().check_command_line(["method=mle", f"hydra.run.dir={folder / 'textgan_test' / 'run'}"])
    _assert_one_line(capsys.readouterr().err, info.value.code,
                     f"hydra.run.dir={folder / 'textgan_test' / 'run'}: cannot write {folder} (")
    assert not (folder / "textgan_test").exists()


def test_cli_generate_chat_report(tmp_path):
    proc = _cli(["generate.py", "ckpt=x.ckpt", "temperature=0"], tmp_path)
    _assert_one_line(proc.stderr, proc.returncode, "temperature=0 is out of range; give a number > 0")
    proc = _cli(["-m", "textgan.cli.chat", "ckpt=x.ckpt", "batch_size=0"], tmp_path)
    _assert_one_line(proc.stderr, proc.returncode, "batch_size=0 is out of range; give an integer >= 1")
    empty = tmp_path / "empty_sweep"
    empty.mkdir()
    proc = _cli(["-m", "textgan.cli.report", str(empty)], tmp_path)
    _assert_one_line(proc.stderr, proc.returncode, f"no job with csv/metrics.csv under {empty}; give a sweep dir")
    assert list(empty.iterdir()) == []  # no report folder written


def test_report_on_a_missing_folder(tmp_path, capsys):
    from textgan.cli.report import main

    assert main([str(tmp_path / "nowhere")]) == 2
    _assert_one_line(capsys.readouterr().err, 2, "nowhere is not a folder; give a sweep dir")
