"""Entry point: `python run.py method=seqgan data=oracle` (see README and conf/config.yaml).

Every user mistake is one line on stderr (`error: <problem>; <fix>`, exit status 2, `textgan/errors.py`):
config mistakes, values out of range and method/data pairings that do not fit before Hydra starts (nothing is
written); bad corpus files, a checkpoint of another model, an output dir that is read-only or full when they are
met. A run stopped by a NaN prints one line too (exit status 1; the full story is in the run's log).
`HYDRA_FULL_ERROR=1` shows the traceback instead.
"""


from textgan.cli.train import check_command_line, cli, main  # noqa: F401 (tests and Lightning's DDP launcher use them)

if __name__ == "__main__":
    cli()
