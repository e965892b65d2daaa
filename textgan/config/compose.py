"""`conf/config.yaml` composed outside `@hydra.main`: for the checks `run.py` makes before Hydra starts
(`textgan.config.validate`, `textgan.config.checks`) and for scripts and tests that call `train` directly."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig, open_dict


def conf_dir() -> Path:
    """The one conf root: `textgan/conf/` of an installed wheel (setup.cfg maps the package `textgan.conf` to the
    checkout's `conf/`), else `conf/` beside the `textgan/` package (a checkout, an editable install). An absolute
    path, which Hydra reads as a folder rather than a module."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "conf"
    return installed if (installed / "config.yaml").is_file() else package.parent / "conf"


CONF_DIR = conf_dir()


def compose(overrides: list[str], config_dir: Path = CONF_DIR, return_hydra_config: bool = False) -> DictConfig:
    """`config.yaml` of `config_dir` composed with command-line `overrides`; Hydra's global state is left clear."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from textgan.config.defaults import register

    register(config_dir)  # the constructors' defaults the method configs start from
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(config_dir)):
            return hydra_compose("config", overrides=overrides, return_hydra_config=return_hydra_config)
    finally:
        GlobalHydra.instance().clear()


def compose_config(overrides: list[str], output_dir: str | os.PathLike) -> DictConfig:
    """Compose `conf/config.yaml` with `overrides` as `run.py` would, outputs under `output_dir` (for scripts and
    tests that call `train` without `@hydra.main`). Hydra's runtime config is registered so `${hydra:...}`
    interpolations resolve; the returned config has no `hydra` node, like the one `run.py`'s main receives."""
    from hydra.core.hydra_config import HydraConfig

    cfg = compose([*overrides, f"paths.output_dir={output_dir}"], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg
