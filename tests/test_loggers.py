"""ResumableCSVLogger: resuming into the same directory keeps the metrics logged before the interruption."""

import csv

from textgan.runs.loggers import ResumableCSVLogger


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_history_survives_a_second_logger_in_the_same_dir(tmp_path):
    first = ResumableCSVLogger(str(tmp_path), name="csv", version="")
    first.log_metrics({"val/nll": 3.0}, step=1)
    first.log_metrics({"val/nll": 2.5}, step=2)
    first.save()
    second = ResumableCSVLogger(str(tmp_path), name="csv", version="")  # the resumed run
    second.log_metrics({"val/nll": 2.0, "train/new": 1.0}, step=3)
    second.save()
    rows = _rows(tmp_path / "csv" / "metrics.csv")
    assert [r["val/nll"] for r in rows] == ["3.0", "2.5", "2.0"]
    assert [r["step"] for r in rows] == ["1", "2", "3"]
    assert rows[-1]["train/new"] == "1.0" and rows[0]["train/new"] == ""


def test_metrics_csv_after_crash_and_resume_in_the_same_dir_equals_the_uninterrupted_run(tmp_path):
    """The redone epoch's rows replace the interrupted attempt's: no duplicates, nothing lost."""
    import pytest

    from textgan.runs.train import train

    from conftest import compose_config

    tiny = ["experiment=smoke_mle", "method.epochs=4", "seed=7"]
    train(compose_config(tiny, tmp_path / "reference"))
    run = tmp_path / "outputs" / "mle_oracle" / "run"
    crash = ["+callbacks.crash._target_=test_resume.CrashAt", "+callbacks.crash.epoch=2",
             "+callbacks.crash.batch_idx=2"]
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(compose_config([*tiny, *crash], run))
    interrupted = _rows(run / "csv" / "metrics.csv")
    assert any(r["epoch"] == "2" for r in interrupted)  # the crashed epoch left rows behind
    train(compose_config([*tiny, "ckpt_path=last"], run))  # finds its own last.ckpt (epoch 1)

    reference, resumed = _rows(tmp_path / "reference" / "csv" / "metrics.csv"), _rows(run / "csv" / "metrics.csv")
    assert len(resumed) == len(reference)
    columns = set(reference[0])
    assert set(resumed[0]) == columns
    assert [{c: r[c] for c in columns} for r in resumed] == [{c: r[c] for c in columns} for r in reference]
