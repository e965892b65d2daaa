"""What the logs of a run hold, read back from real `run.py` runs: SeqGAN's `metrics.csv` has
one row per measurement of a once-per-round value and a round counter per phase; TensorBoard gets the samples
as text; dialogue samples are a context / human / generated table (TSV file, TensorBoard, W&B); resuming a
finished run says so in one line and trains nothing, unless the schedule was lengthened."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

# smoke SeqGAN: G pre-training (epoch 0), D pre-training (epoch 1), 2 adversarial rounds (epochs 2, 3), g_steps 1
SEQGAN = ["experiment=smoke_seqgan", "logger=[csv,tensorboard]", "test=false", "num_threads=1"]


def _run(cache: Path, *args: str) -> subprocess.CompletedProcess:
    """`python run.py *args` in the checkout; `cache`: the data cache (part of what a resume must match)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "TEXTGAN_CACHE": str(cache)}
    return subprocess.run([sys.executable, "run.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "csv" / "metrics.csv", newline="") as f:
        return list(csv.DictReader(f))


def _tensorboard_texts(run: Path) -> dict[str, list[tuple[int, str]]]:
    """{tag: [(step, text), ...]} of the run's TensorBoard text entries."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    texts: dict[str, list[tuple[int, str]]] = {}
    for events in sorted((run / "tensorboard").glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events), size_guidance={"tensors": 0})
        acc.Reload()
        for tag in acc.Tags()["tensors"]:
            for event in acc.Tensors(tag):
                value = event.tensor_proto.string_val[0].decode("utf-8")
                texts.setdefault(tag.removesuffix("/text_summary"), []).append((event.step, value))
    return texts


@pytest.fixture(scope="module")
def seqgan_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("seqgan_logs")
    proc = _run(tmp / "cache", *SEQGAN, f"hydra.run.dir={tmp / 'run'}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp / "run"


def test_seqgan_metrics_csv_rounds_and_once_per_round_values(seqgan_run):
    rows = _rows(seqgan_run)
    pg = [r for r in rows if r["train/g_pg_loss"]]
    # one row per policy-gradient step (g_steps = 1: one per round), with its round and nothing of D's
    assert [(r["epoch"], r["progress/adversarial_round"]) for r in pg] == [("2", "0.0"), ("3", "1.0")]
    assert all(r["train/mean_reward"] and not r["train/d_loss"] for r in pg)
    assert all(0 < float(r["train/mean_reward"]) < 1 for r in pg)
    d_rows = [r for r in rows if r["train/d_loss"]]
    assert d_rows and all(not r["train/g_pg_loss"] and not r["train/mean_reward"] for r in d_rows)  # no stale copy
    # each phase's D rows carry that phase's own round counter only
    pre = [r for r in d_rows if r["epoch"] == "1"]
    adv = [r for r in d_rows if r["epoch"] in ("2", "3")]
    assert pre and all(r["progress/d_pretrain_round"] == "0.0" and not r["progress/adversarial_round"] for r in pre)
    assert adv and all(r["progress/adversarial_round"] == str(float(int(r["epoch"]) - 2))
                       and not r["progress/d_pretrain_round"] for r in adv)


def test_tensorboard_gets_the_samples_as_text(seqgan_run):
    texts = _tensorboard_texts(seqgan_run)
    # one entry per evaluation (every epoch here), at the epoch as step
    assert [step for step, _ in texts["val/samples"]] == [0, 1, 2, 3]
    table = texts["val/samples"][-1][1].splitlines()
    assert table[:2] == ["| sample |", "| --- |"]
    written = (seqgan_run / "samples" / "samples_val_epoch0003.txt").read_text(encoding="utf-8").splitlines()
    assert table[2:] == [f"| {line} |" for line in written]  # the samples file's lines, in order


def test_resuming_a_finished_run_is_one_line_and_changes_nothing(seqgan_run, tmp_path):
    before = {p: p.read_bytes() for p in (seqgan_run / "csv").rglob("*") if p.is_file()}
    cache = seqgan_run.parent / "cache"  # the run's own: a resume matches the data settings too
    proc = _run(cache, *SEQGAN, "ckpt_path=last", f"hydra.run.dir={seqgan_run}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    said = proc.stdout + proc.stderr  # Hydra's console log handler writes to stdout
    finished = [line for line in said.splitlines() if "run already finished" in line]
    assert len(finished) == 1 and finished[0].endswith(
        f"run already finished at epoch 4 of 4: nothing to do (delete {seqgan_run.resolve()} to train it again, or "
        f"raise method.adversarial_rounds and resume with ckpt_path={seqgan_run}/checkpoints/last.ckpt to "
        "continue it)")
    assert "Restoring states" not in said and "restart" not in said.lower()
    assert "finished" in (seqgan_run / "run.log").read_text()  # and in the run's log file
    assert {p: p.read_bytes() for p in (seqgan_run / "csv").rglob("*") if p.is_file()} == before

    # a lengthened schedule continues from the checkpoint: one more adversarial round, nothing before it again
    longer = tmp_path / "longer"
    proc = _run(cache, *SEQGAN, "method.adversarial_rounds=3", f"ckpt_path={seqgan_run}/checkpoints/last.ckpt",
                f"hydra.run.dir={longer}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "run already finished" not in proc.stdout + proc.stderr
    assert {r["epoch"] for r in _rows(longer)} == {"4"}
    assert [r["progress/adversarial_round"] for r in _rows(longer) if r["train/g_pg_loss"]] == ["2.0"]


def test_dialogue_samples_are_a_context_human_generated_table(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"hello {i} there\thi {i} friend\n" for i in range(60)), encoding="utf-8")
    run = tmp_path / "run"
    proc = _run(tmp_path / "cache", "experiment=smoke_seq2seq", "data.corpus=file", f"data.path={pairs}",
                "method.epochs=1", "logger=[csv,tensorboard]", "test=false", "num_threads=1",
                f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = (run / "samples" / "samples_val_epoch0000.txt").read_text(encoding="utf-8").splitlines()
    tsv = (run / "samples" / "samples_val_epoch0000.tsv").read_text(encoding="utf-8").splitlines()
    assert tsv[0] == "context\thuman\tgenerated" and len(tsv) == len(lines) + 1
    # the table's rows are the text file's "context: c | human: h | generated: g" lines, by column
    for line, row in zip(lines, tsv[1:]):
        context, human, generated = row.split("\t")
        assert line == f"context: {context} | human: {human} | generated: {generated}"
        assert context.startswith("hello ") and human.startswith("hi ")
    table = _tensorboard_texts(run)["val/samples"][-1][1].splitlines()
    assert table[0] == "| context | human | generated |" and len(table) == len(lines) + 2
    assert table[2] == "| " + " | ".join(tsv[1].split("\t")) + " |"


def test_wandb_table_has_the_sample_columns(tmp_path):
    """The W&B table of `SampleLogger` (W&B stubbed: `log_text` recorded): epoch plus the method's columns."""
    from types import SimpleNamespace

    from pytorch_lightning.loggers import WandbLogger

    from textgan.runs.callbacks.samples import SampleLogger

    calls = []

    class RecordingWandb(WandbLogger):
        def log_text(self, key, columns=None, data=None, **kwargs):
            calls.append((key, columns, data))

    dialogue = SimpleNamespace(eval_samples=["context: a | human: b | generated: c"],
                               eval_sample_table=(("context", "human", "generated"), [("a", "b", "c")]))
    plain = SimpleNamespace(eval_samples=["x y", "z"])
    trainer = SimpleNamespace(sanity_checking=False, is_global_zero=True, current_epoch=5,
                              loggers=[RecordingWandb(offline=True)])
    logger = SampleLogger(dirpath=str(tmp_path / "samples"), num_samples=20)
    logger.on_validation_end(trainer, dialogue)
    logger.on_validation_end(trainer, plain)
    assert calls == [("val/samples", ["epoch", "context", "human", "generated"], [[5, "a", "b", "c"]]),
                     ("val/samples", ["epoch", "sample"], [[5, "x y"], [5, "z"]])]
