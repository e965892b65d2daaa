"""Checkpoint -> decoded text: `python generate.py ckpt=PATH num_samples=1000 decode=sample temperature=1.0
out=samples.txt` (see docs/tools.md)."""

from textgan.cli.generate import cli

if __name__ == "__main__":
    cli()
