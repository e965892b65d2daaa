"""The Hydra entry shared by the checkpoint tools (`textgan-generate`, `textgan-chat`): one `@hydra.main` over the
tool's own `conf/<tool>.yaml`, with textgan's one-line errors for the mistakes Hydra would answer with a traceback.

A tool writes nothing but its own output: its config sets `hydra.output_subdir: null`, Hydra's logging off and the
run / sweep dir to `.` (no `outputs/<date>` or `.hydra/` in the cwd). In a multirun (`-m temperature=0.7,1.0`) each
job's output file gets the job's overrides in its name (`job_output`), so the jobs never overwrite each other.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from textgan.config.compose import CONF_DIR
from textgan.errors import UserError, one_line_errors

# Hydra's own flags that take the next word as their value (`--cfg job`, `-cn generate`, ...)
VALUE_FLAGS = ("-c", "--cfg", "-p", "--package", "-cp", "--config-path", "-cn", "--config-name", "-cd",
               "--config-dir", "-i", "--info", "--experimental-rerun")


def _tool_dir(ckpt: str | None, tool: str) -> str:
    """`<ckpt's run dir>/<tool>` (a checkpoint lives in `<run dir>/checkpoints/`): where a tool's sweep writes."""
    if not ckpt:
        return "."
    return str(Path(ckpt).resolve().parent.parent / tool)


if not OmegaConf.has_resolver("tool_dir"):
    OmegaConf.register_new_resolver("tool_dir", _tool_dir)


def check_no_option_flags(argv: list[str], known: list[str], error: type[UserError]) -> None:
    """`--layout poem` / `--layout=poem` as a one-line error naming `layout=poem`: a tool's options are keys of its
    config (Hydra's own flags such as `--cfg` are left alone)."""
    for i, arg in enumerate(argv):
        flag = arg[2:].split("=", 1)[0] if arg.startswith("--") else None
        if flag in known:
            value = arg.split("=", 1)[1] if "=" in arg else (argv[i + 1] if i + 1 < len(argv) else "VALUE")
            raise error(f"--{flag} is not a flag; write {flag}={value} (every option is a key of the tool's config)")


def check_keys(argv: list[str], known: list[str], error: type[UserError]) -> None:
    """Unknown `key=value` keys of a command line as one-line errors, before Hydra composes."""
    check_no_option_flags(argv, known, error)
    skip = False
    for arg in argv:
        if skip or arg.startswith("-"):
            skip = arg in VALUE_FLAGS
            continue
        key = arg.split("=", 1)[0].lstrip("+~")
        if key.startswith("hydra.") or key.startswith("hydra/"):
            continue
        if "=" not in arg or key not in known:
            raise error(f"unknown argument {arg!r}; expected key=value with key in {', '.join(known)}")


def is_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.initialized() and str(HydraConfig.get().mode) == "RunMode.MULTIRUN"


def job_output(out: str | None, suffix: str = ".txt") -> str | None:
    """The output file of this job: `out` itself in a single run; in a multirun `out`'s name with the job's
    overrides appended (`samples.temperature=0.7.txt`), or `<sweep dir>/<overrides><suffix>` when `out` is unset
    (the sweep dir is `<ckpt's run dir>/<tool>`, set in `conf/<tool>.yaml`)."""
    if not is_multirun():
        return out
    from hydra.core.hydra_config import HydraConfig

    default_dir = Path(HydraConfig.get().sweep.dir)
    name = HydraConfig.get().job.override_dirname or f"job{HydraConfig.get().job.num}"
    if out in (None, "-"):
        return str(default_dir / f"{name}{suffix}")
    path = Path(out)
    return str(path.with_name(f"{path.stem}.{name}{path.suffix or suffix}"))


def run_tool(config_name: str, task: Callable[[DictConfig], int], known: list[str], error: type[UserError],
             check: Callable[[list[str]], list[str]] | None = None) -> None:
    """`@hydra.main` over `conf/<config_name>.yaml` running `task(cfg) -> exit status`; every user mistake is one
    line on stderr (exit status 2), a bug keeps its traceback. `check(argv) -> overrides`, when given, replaces
    `check_keys` (a tool with its own old spellings or rewrites, e.g. evaluate's `data.KEY=`)."""
    import hydra

    with one_line_errors():
        if check is None:
            check_keys(sys.argv[1:], known, error)
        else:
            sys.argv[1:] = check(sys.argv[1:])

    @hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name=config_name)
    def main(cfg: DictConfig) -> None:
        with one_line_errors(reraise=is_multirun()):  # in a sweep the launcher records the failed job
            status = task(cfg)
        if status:
            sys.exit(status)

    main()
