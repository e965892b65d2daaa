"""ResumableCSVLogger: resuming into the same directory keeps the metrics logged before the interruption."""

import csv

from textgan.loggers import ResumableCSVLogger


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
