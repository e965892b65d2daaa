"""Entry point: `python run.py method=seqgan data=oracle` (see README and conf/config.yaml)."""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    from textgan.train import train

    return train(cfg)


if __name__ == "__main__":
    main()
