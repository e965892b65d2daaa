"""Entry point: `python run.py method=seqgan data=oracle` (see README and conf/config.yaml).

Config mistakes (unknown option, unknown key, wrong type) are reported in one line before Hydra starts; a run
stopped by a NaN prints one line too (the full story is in the run's log).
"""

import logging
import sys

import hydra
from omegaconf import DictConfig

log = logging.getLogger("run")


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    from hydra.core.hydra_config import HydraConfig

    from textgan.callbacks.faults import NonFiniteError
    from textgan.config_validation import ConfigError
    from textgan.train import train

    try:
        return train(cfg)
    except (ConfigError, NonFiniteError) as ex:
        log.error(f"error: {ex}")
        if str(HydraConfig.get().mode) == "RunMode.MULTIRUN":
            raise  # the launcher / sweeper records the failed job
        sys.exit(1)


def check_command_line(argv: list[str]) -> None:
    """One-line errors for config mistakes, before Hydra composes (skipped for Hydra's own flags and for the
    processes Lightning's DDP launcher starts with `-cp/-cn`)."""
    if any(a.startswith("-") and a not in ("-m", "--multirun") for a in argv):
        return
    from textgan.config_validation import ConfigError, check_overrides

    try:
        check_overrides([a for a in argv if not a.startswith("-")])
    except ConfigError as ex:
        print(f"error: {ex}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    check_command_line(sys.argv[1:])
    main()
