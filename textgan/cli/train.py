"""The training app: `@hydra.main` over the package's `conf/config.yaml` (behind `run.py` of a checkout and the
`textgan-train` console script of an installed package).

Every user mistake is one line on stderr (`error: <problem>; <fix>`, exit status 2, `textgan/errors.py`):
config mistakes, values out of range and method/data pairings that do not fit before Hydra starts (nothing is
written); bad corpus files, a checkpoint of another model, an output dir that is read-only or full when they are
met. A run stopped by a NaN prints one line too (exit status 1; the full story is in the run's log).
`HYDRA_FULL_ERROR=1` shows the traceback instead.
"""

import logging
import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from textgan.config.compose import CONF_DIR, compose
from textgan.config.defaults import register
from textgan.errors import ConfigError

register(CONF_DIR)  # the constructors' defaults the method configs start from, before Hydra composes
log = logging.getLogger("run")  # the name run.py always logged under


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig

    from textgan import errors
    from textgan.runs.train import train

    # in a sweep the launcher / sweeper records the failed job
    with errors.one_line_errors(reraise=str(HydraConfig.get().mode) == "RunMode.MULTIRUN"):
        return train(cfg)


# Hydra's flags that leave the composed config as it is (a value follows the first two); any other flag asks
# Hydra for something else (help, info, shell completion) or for another primary config (`-cp/-cn`: the processes
# Lightning's DDP launcher starts), and Hydra or `train()`'s own `validate_config` answers it
_CONFIG_FLAGS_WITH_VALUE = ("--cfg", "-c", "--package", "-p")
_CONFIG_FLAGS = ("-m", "--multirun", "--run", "-r", "--resolve")


def check_command_line(argv: list[str]) -> None:
    """One-line errors for config mistakes of a command line (`-m` and `--cfg` ones too) before Hydra composes
    and creates a run dir."""
    overrides, flags, values = [], set(), iter(argv)
    for arg in values:
        flag = arg.split("=", 1)[0]
        if flag in _CONFIG_FLAGS_WITH_VALUE:
            flags.add(flag)
            if "=" not in arg:
                next(values, None)
        elif arg in _CONFIG_FLAGS:
            flags.add(arg)
        elif arg.startswith("-"):
            return
        else:
            overrides.append(arg)
    from textgan import errors
    from textgan.config.validate import check_overrides

    with errors.one_line_errors():
        check_overrides(overrides)
        if not flags & {"--cfg", "-c"}:  # `--cfg` prints the config and creates no dir
            check_output_dir(overrides, multirun=bool(flags & {"-m", "--multirun"}))


def check_writable(folder: str | os.PathLike, what: str = "hydra.run.dir") -> None:
    """`folder` (created later) must be creatable: its nearest existing parent takes a new entry (probed with a
    temporary folder, removed at once) and its file system has free space. Run before Hydra creates it."""
    import errno
    import tempfile

    folder = Path(folder).absolute()
    parent = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if parent is None or not parent.is_dir():
        raise ConfigError(f"{what}={folder}: {parent} is not a folder; choose another {what}")
    try:
        if parent == folder:  # the folder exists already: probe nothing inside it
            if not os.access(parent, os.W_OK):
                raise PermissionError(errno.EACCES, "permission denied", str(parent))
        else:
            os.rmdir(tempfile.mkdtemp(prefix=".textgan-probe-", dir=parent))
        stats = os.statvfs(parent)
        if stats.f_bavail == 0:
            raise OSError(errno.ENOSPC, "no space left on device", str(parent))
    except OSError as ex:
        raise ConfigError(f"{what}={folder}: cannot write {parent} ({ex.strerror or ex}); choose a folder you can "
                          f"write to ({what}=...){' or free some disk space' if ex.errno == errno.ENOSPC else ''}"
                          ) from None


def check_output_dir(overrides: list[str], multirun: bool) -> None:
    """`check_writable` for the run (or sweep) dir that Hydra will create for these command-line overrides."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    # only Hydra's settings and single group choices decide the folder; sweeps would not compose
    kept = [o for o in overrides if "," not in o and (o.startswith(("hydra.", "hydra/"))
                                                     or o.split("=")[0] in ("method", "data"))]
    try:
        folder = OmegaConf.select(compose(kept, return_hydra_config=True), key)
    except Exception:  # a folder that only resolves inside the job: Hydra reports it
        return
    if folder:
        check_writable(folder, key)


def cli() -> None:
    """`textgan-train` (and `python run.py` of a checkout): one-line config errors first, then Hydra."""
    check_command_line(sys.argv[1:])
    main()


if __name__ == "__main__":
    cli()
