"""Run dirs: jobs launched together never share one; a run never takes over a dir holding another run's files
(`textgan/runs/run_dir.py`, `conf/hydra/default.yaml`)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys

import pytest
import yaml

from textgan.runs.run_dir import RunDirError, claim_run_dir, lock_run_dir

from conftest import REPO

APP = REPO / "tests" / "apps" / "where_am_i.py"  # Hydra on conf/, a job that only records where it ran


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _launch(cwd, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(APP), *overrides], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=120)


def test_twenty_concurrent_launches_of_two_seeds_never_share_a_dir(tmp_path):
    procs = [subprocess.Popen([sys.executable, str(APP), f"seed={1 + i % 2}"], cwd=tmp_path, env=_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in range(20)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    dirs = sorted((tmp_path / "outputs" / "seqgan_oracle").iterdir())
    assert len(dirs) == 20
    # names to the second would collide: the 20 starts fall into fewer than 20 distinct seconds
    assert len({d.name.rsplit("_", 1)[0] for d in dirs}) < 20
    for d in dirs:
        jobs = list(d.glob("job-*.txt"))
        assert len(jobs) == 1, d  # one process per dir
        overrides = yaml.safe_load((d / ".hydra" / "overrides.yaml").read_text())
        assert overrides == [f"seed={jobs[0].read_text()}"]  # the dir's config is its own job's


def test_a_new_run_refuses_a_dir_holding_a_run(tmp_path):
    run = tmp_path / "outputs" / "finished"
    assert _launch(tmp_path, "seed=1", f"hydra.run.dir={run}").returncode == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}

    for overrides in (["seed=2"], ["seed=1"], ["seed=2", "ckpt_path=last"]):
        res = _launch(tmp_path, *overrides, f"hydra.run.dir={run}")
        assert res.returncode == 2, overrides
        assert res.stderr.count("\n") == 1 and str(run) in res.stderr and "Traceback" not in res.stderr
        after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
        assert after == before, overrides  # nothing in the finished run's dir changed

    # resuming that same run in its own dir is allowed
    assert _launch(tmp_path, "seed=1", "ckpt_path=last", f"hydra.run.dir={run}").returncode == 0


def test_a_new_sweep_refuses_a_sweep_dir_holding_runs(tmp_path):
    sweep = tmp_path / "multirun" / "s"
    assert _launch(tmp_path, "-m", "seed=1,2", f"hydra.sweep.dir={sweep}").returncode == 0
    before = sorted(sweep.rglob("*"))
    res = _launch(tmp_path, "-m", "seed=3,4", f"hydra.sweep.dir={sweep}")
    assert res.returncode == 2 and "already holds the runs of a sweep" in res.stderr
    assert sorted(sweep.rglob("*")) == before


def _fake_run(path, signature, ckpt=True):
    (path / "checkpoints").mkdir(parents=True)
    (path / "checkpoints" / "run_config.json").write_text(json.dumps(signature))
    if ckpt:
        (path / "checkpoints" / "last.ckpt").write_bytes(b"x")


def test_train_refuses_a_dir_of_another_configuration(tmp_path):
    run = tmp_path / "a"
    _fake_run(run, {"seed": 1, "method": {"lr": 0.1}})
    with pytest.raises(RunDirError, match=r"holds another run .*seed \(1 -> 2\)"):
        claim_run_dir(run, {"seed": 2, "method": {"lr": 0.1}}, None)
    with pytest.raises(RunDirError, match="a fresh start would overwrite"):
        claim_run_dir(run, {"seed": 1, "method": {"lr": 0.1}}, None)
    claim_run_dir(run, {"seed": 1, "method": {"lr": 0.1}}, str(run / "checkpoints" / "last.ckpt"))  # resuming
    assert json.loads((run / "checkpoints" / "run_config.json").read_text())["seed"] == 1
    # same configuration, died before its first checkpoint: starting again there loses nothing
    fresh = tmp_path / "b"
    _fake_run(fresh, {"seed": 1}, ckpt=False)
    claim_run_dir(fresh, {"seed": 1}, None)


def test_a_dir_in_use_by_another_process_is_refused(tmp_path):
    run = tmp_path / "busy"
    run.mkdir()
    fd = os.open(run / ".textgan.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another open file description: another process, to flock
    try:
        with pytest.raises(RunDirError, match="in use by another running process"):
            lock_run_dir(run)
    finally:
        os.close(fd)
    lock_run_dir(run)  # free again
    lock_run_dir(run)  # and idempotent within a process
