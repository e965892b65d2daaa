"""A Hydra app on textgan's own `conf/` (run dir naming and `RunDirGuard` included) whose job only records where
it ran: `run.py`'s run-dir handling without the training, cheap enough to launch 20 times at once."""

import os
from pathlib import Path

import hydra

REPO = Path(__file__).resolve().parents[2]


@hydra.main(version_base="1.3", config_path=str(REPO / "conf"), config_name="config")
def main(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig

    out = Path(HydraConfig.get().runtime.output_dir)
    (out / f"job-{os.getpid()}.txt").write_text(str(cfg.seed))


if __name__ == "__main__":
    main()
