"""`python -m textgan.cli.report SWEEP_DIR`: final metrics of every job, mean ± std over seeds grouped by the swept
keys, curves to PNG; checked on a synthetic sweep with hand-computed values."""

from __future__ import annotations

from pathlib import Path

from textgan.cli.report import find_jobs, main, mean_std, summary_table, swept_keys


def _job(sweep: Path, num: int, method: str, seed: int, curve: list[float], test: float) -> None:
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(f"- method={method}\n- seed={seed}\n- data=oracle\n")
    (job / "csv").mkdir()
    rows = ["epoch,step,train/loss,val/epoch,val/nll_oracle,test/nll_oracle"]
    for e, v in enumerate(curve):
        rows.append(f"{e},{e * 4},1.0,,,")  # a training row
        rows.append(f"{e},{e * 4 + 3},,{e},{v},")  # an evaluation row
    rows.append(f"{len(curve)},{len(curve) * 4},,,,{test}")
    (job / "csv" / "metrics.csv").write_text("\n".join(rows) + "\n")


def _sweep(tmp_path: Path) -> Path:
    sweep = tmp_path / "multirun" / "x"
    _job(sweep, 0, "mle", 1, [10.0, 9.0], test=9.0)
    _job(sweep, 1, "mle", 2, [10.0, 8.0], test=8.0)
    _job(sweep, 2, "mle", 3, [10.0, 7.0], test=10.0)
    _job(sweep, 3, "seqgan", 1, [12.0, 6.0], test=6.0)
    _job(sweep, 4, "seqgan", 2, [12.0, 5.0], test=5.0)
    return sweep


def test_mean_std_is_sample_std():
    assert mean_std([9.0, 8.0, 10.0]) == (9.0, 1.0)
    assert mean_std([4.0]) == (4.0, 0.0)


def test_table_groups_by_swept_keys_over_seeds(tmp_path):
    jobs = find_jobs(_sweep(tmp_path))
    assert len(jobs) == 5
    assert swept_keys(jobs) == ["method"]  # data is constant, seed is what we average over
    assert jobs[0].final == {"val/epoch": 1.0, "val/nll_oracle": 9.0, "test/nll_oracle": 9.0}
    table = summary_table(jobs).splitlines()
    assert table[0] == "| method | seeds | test/nll_oracle |"
    # mle: 9, 8, 10 -> mean 9, std 1; seqgan: 6, 5 -> mean 5.5, std sqrt(0.5) = 0.7071
    assert table[2] == "| mle | 3 | 9.0000 ± 1.0000 |"
    assert table[3] == "| seqgan | 2 | 5.5000 ± 0.7071 |"
    val = summary_table(jobs, ["val/nll_oracle"]).splitlines()
    assert val[2] == "| mle | 3 | 8.0000 ± 1.0000 |"  # the last evaluation: 9, 8, 7


def test_cli_writes_markdown_and_curves(tmp_path, capsys):
    sweep = _sweep(tmp_path)
    main([str(sweep)])
    report = (sweep / "report" / "report.md").read_text()
    assert "| seqgan | 2 | 5.5000 ± 0.7071 |" in report
    png = sweep / "report" / "val_nll_oracle.png"
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"
    assert "![val/nll_oracle](val_nll_oracle.png)" in report
    assert "written:" in capsys.readouterr().out


def test_one_seed_shows_its_value_with_n1_and_the_csv_holds_the_table(tmp_path, capsys):
    import csv

    sweep = tmp_path / "multirun" / "y"
    _job(sweep, 0, "mle", 1, [10.0, 9.0], test=9.0)
    _job(sweep, 1, "mle", 2, [10.0, 7.0], test=7.0)
    _job(sweep, 2, "seqgan", 1, [12.0, 6.0], test=6.0)
    assert main([str(sweep)]) == 0
    report = (sweep / "report" / "report.md").read_text()
    assert "| mle | 2 | 8.0000 ± 1.4142 |" in report  # 9, 7: std sqrt(2)
    assert "| seqgan | 1 | 6.0000 (n=1) |" in report and "± 0.0000" not in report
    with open(sweep / "report" / "report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["method"], r["seeds"], r["test/nll_oracle_n"]) for r in rows] == [("mle", "2", "2"),
                                                                                 ("seqgan", "1", "1")]
    assert [float(r["test/nll_oracle"]) for r in rows] == [8.0, 6.0]
    assert float(rows[0]["test/nll_oracle_std"]) == 2 ** 0.5 and rows[1]["test/nll_oracle_std"] == ""


def test_phase_starts_are_the_epochs_where_progress_phase_changes(tmp_path):
    from textgan.cli.report import read_job

    job = tmp_path / "0"
    (job / "csv").mkdir(parents=True)
    (job / "csv" / "metrics.csv").write_text(
        "epoch,progress/phase,val/epoch,val/nll_oracle\n"
        "0,0,,\n0,0,,\n0,,0,5.0\n1,1,,\n1,,1,4.0\n2,2,,\n2,,2,3.0\n3,2,,\n3,,3,2.0\n")
    assert read_job(job).phase_starts == [(1.0, 1), (2.0, 2)]
    assert read_job(job).curves["val/nll_oracle"] == [(0.0, 5.0), (1.0, 4.0), (2.0, 3.0), (3.0, 2.0)]


def test_a_folder_without_jobs_is_a_one_line_error(tmp_path, capsys):
    for folder in (tmp_path, tmp_path / "absent"):
        assert main([str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and str(folder) in err


def _iteration_job(sweep: Path, num: int, seed: int, rows: list[tuple[float, float, float]]) -> None:
    """A job whose metrics.csv logs `val/js1`, `val/js2` with `val/generator_iteration` on evaluation rows and
    `train/tau` on training rows (its iteration in another column): (iteration, js1, js2) per evaluation."""
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n")
    (job / "csv").mkdir()
    lines = ["epoch,step,train/tau,progress/generator_iteration,val/generator_iteration,val/js1,val/js2"]
    for e, (it, js1, js2) in enumerate(rows):
        lines.append(f"{e},{e},{5.0 - e},{it},,,")
        lines.append(f"{e},{e},,,{it},{js1},{js2}")
    (job / "csv" / "metrics.csv").write_text("\n".join(lines) + "\n")


def test_plot_draws_the_mean_over_seeds_of_a_metric_against_another_column(tmp_path):
    from textgan.cli.report import curve_stats, parse_plots, xy_points

    sweep = tmp_path / "multirun" / "w"
    _iteration_job(sweep, 0, 1, [(50, 0.4, 0.8), (100, 0.5, 0.9)])
    _iteration_job(sweep, 1, 2, [(50, 0.6, 0.7), (100, 0.3, 0.9)])
    _iteration_job(sweep, 2, 3, [(50, 0.5, 0.6), (101, 0.2, 0.5)])  # a time-capped seed: its last x differs
    jobs = find_jobs(sweep)
    assert parse_plots(["val/js1,val/js2@val/generator_iteration", "train/tau"]) == [
        (["val/js1", "val/js2"], "val/generator_iteration"), (["train/tau"], "epoch")]
    assert xy_points(jobs[0], "val/js1", "val/generator_iteration") == [(50.0, 0.4), (100.0, 0.5)]
    assert xy_points(jobs[0], "train/tau", "progress/generator_iteration") == [(50.0, 5.0), (100.0, 4.0)]
    assert xy_points(jobs[0], "val/js1", "epoch") == [(0.0, 0.4), (1.0, 0.5)]  # only rows that log both
    stats = curve_stats([p for j in jobs for p in xy_points(j, "val/js1", "val/generator_iteration")])
    # x = 50: 0.4, 0.6, 0.5 -> mean 0.5, std 0.1; x = 100: 0.5, 0.3 -> 0.4, sqrt(0.02); x = 101: one point
    assert stats.index.tolist() == [50.0, 100.0, 101.0]
    assert stats["mean"].round(12).tolist() == [0.5, 0.4, 0.2]
    assert stats["std"].round(12).tolist() == [0.1, round(0.02 ** 0.5, 12), 0.0]
    assert stats["n"].tolist() == [3, 2, 1]
    assert main([str(sweep), "--plot", "val/js1,val/js2@val/generator_iteration", "train/tau"]) == 0
    report = (sweep / "report" / "report.md").read_text()
    png = sweep / "report" / "plot_val_js1+val_js2_vs_val_generator_iteration.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and (sweep / "report" / "plot_train_tau.png").exists()
    assert f"![val/js1,val/js2@val/generator_iteration]({png.name})" in report


def test_a_plot_of_a_column_no_job_logs_or_a_malformed_spec_is_one_line_before_any_work(tmp_path, capsys):
    sweep = tmp_path / "multirun" / "w"
    _iteration_job(sweep, 0, 1, [(50, 0.4, 0.8)])
    for spec, says in (("val/js9@val/generator_iteration", "no job logs val/js9; the logged columns are"),
                       ("val/js1@", "write METRIC[,METRIC...][@X_COLUMN]"), ("@epoch", "write METRIC")):
        assert main([str(sweep), "--plot", spec]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err, err
        assert not (sweep / "report").exists()


def _named_job(sweep: Path, num: int, overrides: list[str], test: float) -> None:
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (job / "csv").mkdir()
    (job / "csv" / "metrics.csv").write_text(f"epoch,test/bleu2\n0,{test}\n")


def test_group_by_names_the_rows_by_some_swept_keys_and_refuses_to_merge_different_runs(tmp_path, capsys):
    sweep = tmp_path / "runs"
    start = "method.pretrained_ckpt=mle/seed${seed}/last.ckpt"  # constant within each row: a column that repeats it
    _named_job(sweep, 0, ["experiment=mle", "seed=1"], 0.25)
    _named_job(sweep, 1, ["experiment=mle", "seed=2"], 0.35)
    _named_job(sweep, 2, ["experiment=adver", start, "seed=1"], 0.5)
    _named_job(sweep, 3, ["experiment=adver", start, "seed=2"], 0.75)
    assert main([str(sweep), "--allow-mixed", "--group-by", "experiment"]) == 0
    table = [line for line in (sweep / "report" / "report.md").read_text().splitlines() if line.startswith("|")]
    # mle: 0.25, 0.35 -> 0.3 ± sqrt(0.005) = 0.0707; adver: 0.5, 0.75 -> 0.625 ± sqrt(0.03125) = 0.1768
    assert table == ["| experiment | seeds | test/bleu2 |", "| --- | --- | --- |",
                     "| adver | 2 | 0.6250 ± 0.1768 |", "| mle | 2 | 0.3000 ± 0.0707 |"]
    capsys.readouterr()
    _named_job(sweep, 4, ["experiment=adver", "method.pretrained_ckpt=other.ckpt", "seed=3"], 0.1)
    for keys, says in ((["experiment"], "the jobs of row experiment=adver differ in method.pretrained_ckpt ("),
                       (["method.reward"], "--group-by method.reward: not a swept key of these jobs; the swept keys "
                                           "are experiment, method.pretrained_ckpt")):
        assert main([str(sweep), "--allow-mixed", "--out", str(tmp_path / "r2"), "--group-by", *keys]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err, err
    assert not (tmp_path / "r2").exists()  # refused before anything is written
