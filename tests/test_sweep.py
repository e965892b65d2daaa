"""One sweep = one folder, one W&B group, one report: a real `run.py -m experiment=smoke_mle,smoke_seqgan seed=1,2`
writes its four jobs into `multirun/<sweep_name>/<time>_<id>/<num>_<overrides>` and `textgan.cli.report` reads them
back with the jobs' own values; a folder mixing sweeps is refused in one line (`conf/hydra/default.yaml`,
`textgan/runs/run_dir.py`, `textgan/cli/report.py`)."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import statistics
import subprocess
import sys

import pytest
import yaml
from omegaconf import open_dict, read_write

from textgan.cli.report import find_jobs, main
from textgan.runs.run_dir import JOB_NAME_MAX, job_dirname

from conftest import REPO, read_metrics


def test_job_dirname_is_number_and_overrides_path_safe():
    assert job_dirname(0, "method=mle,seed=1") == "0_method=mle,seed=1"
    assert job_dirname(7, "") == "7"  # a sweep without overrides
    unsafe = "data.path=/a/b,method.discriminator.filter_sizes=[2,3]"
    digest = hashlib.sha256(unsafe.encode()).hexdigest()[:8]
    assert job_dirname(1, unsafe) == f"1_data.path=_a_b,method.discriminator.filter_sizes=_2,3__{digest}"
    long_a, long_b = "x=" + "a" * 300, "x=" + "a" * 299 + "b"
    assert len(job_dirname(2, long_a)) == JOB_NAME_MAX and "/" not in job_dirname(2, long_a)
    assert job_dirname(2, long_a) != job_dirname(2, long_b)  # cut to the same prefix, told apart by the hash


def test_a_sweep_name_that_is_not_one_folder_name_is_refused_before_any_dir(tmp_path):
    app = REPO / "tests" / "apps" / "where_am_i.py"
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    for name in ("a/b", "..", "''"):
        proc = subprocess.run([sys.executable, str(app), "-m", "seed=1,2", f"sweep_name={name}"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, name
        assert proc.stderr.startswith("error: sweep_name=") and not (tmp_path / "multirun").exists()


def test_wandb_group_is_the_sweep_for_every_job(tmp_path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from textgan.config.compose import CONF_DIR
    from textgan.runs.wandb_run import configure_wandb

    groups = []
    for job in ("0_method=mle,seed=1", "3_method=seqgan,seed=2"):
        method = job.split("method=")[1].split(",")[0]
        GlobalHydra.instance().clear()
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
            cfg = compose("config", overrides=[f"method={method}", "sweep_name=cmp", "logger=wandb"],
                          return_hydra_config=True)
        with read_write(cfg), open_dict(cfg):
            cfg.hydra.mode = "MULTIRUN"
            cfg.hydra.runtime.output_dir = str(tmp_path / "multirun" / "cmp" / "2026-01-01_00-00-00_abcdef" / job)
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg["hydra"]
        configure_wandb(cfg)
        groups.append(cfg.logger.wandb.group)
    assert groups == ["cmp/2026-01-01_00-00-00_abcdef"] * 2


@pytest.mark.slow
def test_a_method_by_seed_sweep_is_one_folder_and_one_report(tmp_path, capsys):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1",
           "TEXTGAN_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, str(REPO / "run.py"), "-m", "experiment=smoke_mle,smoke_seqgan", "seed=1,2", "logger=csv",
           "num_threads=1"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # one sweep folder, whatever the methods: multirun/sweep/<time>_<id>/<num>_<overrides>
    assert [p.name for p in (tmp_path / "multirun").iterdir()] == ["sweep"]
    (sweep,) = (tmp_path / "multirun" / "sweep").iterdir()
    jobs = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert jobs == [f"{n}_experiment=smoke_{m},seed={s}"
                    for n, (m, s) in enumerate([("mle", 1), ("mle", 2), ("seqgan", 1), ("seqgan", 2)])]

    found = {j.path.name: j for j in find_jobs(sweep)}
    assert len(found) == 4 and len({j.sweep for j in found.values()}) == 1
    # SeqGAN's smoke schedule: 1 epoch G pre-training, 1 D pre-training, then adversarial; MLE has one phase
    assert {n: j.phase_starts for n, j in found.items()} == {
        n: ([(1.0, 1), (2.0, 2)] if "seqgan" in n else []) for n in jobs}

    assert main([str(sweep)]) == 0
    capsys.readouterr()
    with open(sweep / "report" / "report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    # the report groups by the swept key: here the smoke preset of each method
    assert [(r["experiment"], r["seeds"], r["test/nll_oracle_n"]) for r in rows] == [("smoke_mle", "2", "2"),
                                                                                     ("smoke_seqgan", "2", "2")]
    report = (sweep / "report" / "report.md").read_text()
    for row in rows:
        finals = [read_metrics(sweep / n)["test/nll_oracle"][-1] for n in jobs
                  if f"experiment={row['experiment']}," in n]
        assert float(row["test/nll_oracle"]) == pytest.approx(statistics.mean(finals), rel=1e-12)
        assert float(row["test/nll_oracle_std"]) == pytest.approx(statistics.stdev(finals), rel=1e-9)
        cell = f"{statistics.mean(finals):.4f} ± {statistics.stdev(finals):.4f}"
        assert f"| {row['experiment']} | 2 | {cell} |" in report
    assert (sweep / "report" / "val_nll_oracle.png").read_bytes()[:4] == b"\x89PNG"

    # another sweep's job next to this one (as Hydra would have recorded it there): the parent folder is refused
    other = sweep.parent / "2026-01-01_00-00-00_abcdef" / jobs[0]
    shutil.copytree(sweep / jobs[0], other)
    hydra_yaml = other / ".hydra" / "hydra.yaml"
    recorded = yaml.safe_load(hydra_yaml.read_text())
    recorded["hydra"]["runtime"]["output_dir"] = str(other)
    hydra_yaml.write_text(yaml.safe_dump(recorded))
    shutil.rmtree(sweep / "report")
    assert main([str(sweep.parent)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "mixes the jobs of 2 sweeps" in err
    assert "--allow-mixed" in err and not (sweep.parent / "report").exists()
    # asked for, the two are reported together: mle now has three jobs
    assert main([str(sweep.parent), "--allow-mixed"]) == 0
    with open(sweep.parent / "report" / "report.csv", newline="") as f:
        assert [(r["experiment"], r["seeds"]) for r in csv.DictReader(f)] == [("smoke_mle", "3"), ("smoke_seqgan", "2")]
