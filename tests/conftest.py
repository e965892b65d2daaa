"""Shared test setup: one thread per process (2-core machines), offline W&B, a temp data cache, and helpers to
compose the Hydra config the way `run.py` does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)
os.environ.setdefault("WANDB_MODE", "disabled")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Generated data (the oracle's) goes to a temp dir of this test run, never the user's cache."""
    monkeypatch.setenv("TEXTGAN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def compose_config(overrides: list[str], output_dir: Path):
    """Compose `conf/config.yaml` with `overrides` as `run.py` would, with outputs under `output_dir`."""
    from textgan.config.compose import compose_config as compose

    return compose(overrides, output_dir)


def shared_data_dir() -> Path | None:
    """`TEXTGAN_DATA` (the shared real corpora) or None. In CI it must exist."""
    root = os.environ.get("TEXTGAN_DATA")
    if root and Path(root).is_dir():
        return Path(root)
    if os.environ.get("CI"):
        raise RuntimeError("CI must set TEXTGAN_DATA to the shared corpora (../shared/data)")
    return None


@pytest.fixture
def real_data_dir() -> Path:
    root = shared_data_dir()
    if root is None:
        pytest.skip("TEXTGAN_DATA is not set: real-corpus tests need the shared data (CI sets it)")
    return root


def read_metrics(output_dir: Path) -> dict[str, list[float]]:
    """`<output_dir>/csv/metrics.csv` as {column: [non-empty values as float, in row order]}."""
    import csv

    with open(Path(output_dir) / "csv" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    cols = rows[0].keys() if rows else []
    return {c: [float(r[c]) for r in rows if r[c] not in ("", None)] for c in cols}
