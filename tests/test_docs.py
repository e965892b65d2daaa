"""The commands of README.md and docs/*.md run as written.

Every line of a fenced ```bash block is read as a shell command (a trailing `\\` continues it, `#` starts a
comment, `<...>` stands for a path or value the reader fills in, a bare `...` for more of the same). Then:

- `python run.py ARGS` / `textgan-train ARGS` passes the training app's own command-line check (composition
  with every override, value ranges, method/data pairing) exactly as a user's command line does;
- `textgan-<tool> ARGS` names a console script of setup.cfg whose module exists, and `python -m textgan.<x>` a
  module that exists; a tool's `key=value` arguments are keys of its config (`conf/<tool>.yaml`);
- `python <file>.py` names a file of the repository, and `pip install -e ".[extras]"` extras of setup.cfg;
- the short ones run: every `--help` (in-process, through the function its console script calls), and the
  first run of README.md (a smoke preset) in a fresh process, as a user starts it.

Links between the documents point at files that exist, the README stays a guide (at most 250 lines), and its
test command is the one CI runs.
"""

from __future__ import annotations

import configparser
import importlib
import importlib.util
import os
import re
import runpy
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
README_MAX_LINES = 250
TEST_COMMAND = "python -m pytest -q"
# the training app's command-line check, wherever the app lives
TRAIN_APP_MODULES = ("textgan.cli.train", "textgan.app")
# config groups that need the `sweep` extra, and the module each needs
NEEDS_EXTRA = {"hparams_search=": "hydra_plugins.hydra_optuna_sweeper",
               "hydra/launcher=slurm": "hydra_plugins.hydra_submitit_launcher"}
PLACEHOLDER = re.compile(r"<[^<>\n]*>")
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


@dataclass(frozen=True)
class Command:
    source: str   # file:line
    line: str     # as written
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.source}: {self.line}"


def _split(line: str) -> list[list[str]]:
    """Shell words of `line`, one list per command of a `;`/`&&` chain; placeholders become plain words."""
    lexer = shlex.shlex(PLACEHOLDER.sub("PLACEHOLDER", line), posix=True, punctuation_chars=";&")
    lexer.whitespace_split = True
    commands, words = [], []
    for word in lexer:
        if word in (";", "&&"):
            commands.append(words)
            words = []
        elif word != "...":
            words.append(word)
    commands.append(words)
    return [c for c in commands if c]


def bash_commands(path: Path) -> list[Command]:
    """The commands of the ```bash blocks of `path`."""
    commands, in_block, pending, start = [], False, "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            in_block = stripped == "```bash" if not in_block else False
            continue
        if not in_block:
            continue
        if not pending:
            start = number
        text = raw.split(" #", 1)[0] if not stripped.startswith("#") else ""
        if text.rstrip().endswith("\\"):
            pending += text.rstrip()[:-1] + " "
            continue
        line, pending = (pending + text).strip(), ""
        for argv in _split(line):
            while argv and ENV_ASSIGNMENT.match(argv[0]):
                argv = argv[1:]
            if argv:
                commands.append(Command(f"{path.relative_to(REPO)}:{start}", line, tuple(argv)))
    return commands


ALL_COMMANDS = [c for doc in DOCUMENTS for c in bash_commands(doc)]


def _console_scripts() -> dict[str, str]:
    """console script name -> `module:function`, from setup.cfg."""
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    lines = parser.get("options.entry_points", "console_scripts").strip().splitlines()
    return {name.strip(): target.strip() for name, target in (entry.split("=", 1) for entry in lines)}


SCRIPTS = _console_scripts()


def _conf_dir() -> Path:
    return REPO / "conf" if (REPO / "conf" / "config.yaml").is_file() else REPO / "textgan" / "conf"


def _is_train(c: Command) -> bool:
    return c.argv[:2] == ("python", "run.py") or c.argv[0] == "textgan-train"


def _train_args(c: Command) -> list[str]:
    return list(c.argv[2:] if c.argv[0] == "python" else c.argv[1:])


def _tool(c: Command) -> tuple[str, str, list[str]] | None:
    """(name, module, args) of a tool command: `textgan-<tool> ...` or `python -m textgan.<module> ...`."""
    if c.argv[0].startswith("textgan-") and c.argv[0] != "textgan-train":
        name = c.argv[0]
        module = SCRIPTS.get(name, ":").split(":")[0]
        return name, module, list(c.argv[1:])
    if c.argv[:2] == ("python", "-m") and len(c.argv) > 2 and c.argv[2].startswith("textgan"):
        return c.argv[2], c.argv[2], list(c.argv[3:])
    return None


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _check_command_line():
    for module in TRAIN_APP_MODULES:
        if _module_exists(module):
            return importlib.import_module(module).check_command_line
    raise AssertionError(f"no training app among {TRAIN_APP_MODULES}")


def test_documents_have_commands():
    assert (REPO / "docs").is_dir()
    assert any(_is_train(c) for c in bash_commands(REPO / "README.md"))
    assert len(ALL_COMMANDS) > 50, len(ALL_COMMANDS)


def test_readme_is_a_guide_with_the_ci_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_MAX_LINES
    assert TEST_COMMAND in [c.line for c in bash_commands(REPO / "README.md")]
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert ci[-1] == TEST_COMMAND


def test_train_commands_pass_the_command_line_check(capsys):
    check = _check_command_line()
    failures, checked, seen = [], 0, set()
    for c in filter(_is_train, ALL_COMMANDS):
        args = _train_args(c)
        if tuple(args) in seen:
            continue  # the same command in another document
        seen.add(tuple(args))
        if any(flag in args for flag in ("--help", "-h", "--hydra-help")):
            continue  # run below
        extra = [m for key, m in NEEDS_EXTRA.items() if any(a.startswith(key) for a in args)]
        if any(not _module_exists(m) for m in extra):
            continue  # needs `pip install -e ".[sweep]"`: its one-line hint is tested in test_sweep.py
        if "--cfg" not in args:
            args = ["--cfg", "job", *args]  # the check only, no run dir
        try:
            check(args)
            checked += 1
        except SystemExit as ex:
            failures.append(f"{c}\n    exit {ex.code}: {capsys.readouterr().err.strip()}")
    assert not failures, "\n".join(failures)
    assert checked > 20


def test_tools_and_modules_exist():
    missing = []
    for c in ALL_COMMANDS:
        tool = _tool(c)
        if tool is not None:
            name, module, _ = tool
            if c.argv[0].startswith("textgan-") and name not in SCRIPTS:
                missing.append(f"{c}\n    {name} is no console script of setup.cfg")
            elif not _module_exists(module):
                missing.append(f"{c}\n    module {module} does not exist")
        elif c.argv[0] == "python" and len(c.argv) > 1 and c.argv[1].endswith(".py"):
            if not (REPO / c.argv[1]).is_file():
                missing.append(f"{c}\n    no file {c.argv[1]}")
        elif c.argv[:2] == ("python", "-m") and not _module_exists(c.argv[2]):
            missing.append(f"{c}\n    module {c.argv[2]} does not exist")
    assert not missing, "\n".join(missing)


def test_tool_arguments_are_keys_of_the_tool_config():
    wrong = []
    for c in ALL_COMMANDS:
        tool = _tool(c)
        if tool is None:
            continue
        config = _conf_dir() / f"{tool[0].replace('textgan-', '').split('.')[-1]}.yaml"
        if not config.is_file():
            continue  # an argparse tool (report)
        keys = set(OmegaConf.load(config).keys()) | {"hydra"}
        for arg in tool[2]:
            if arg.startswith("-") or "=" not in arg:
                continue
            key = arg.split("=", 1)[0].lstrip("+~").split(".")[0]
            if key not in keys:
                wrong.append(f"{c}\n    {key} is no option of {config.name}")
    assert not wrong, "\n".join(wrong)


def test_pip_extras_exist():
    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    extras = set(parser["options.extras_require"])
    for c in ALL_COMMANDS:
        if c.argv[:2] == ("pip", "install"):
            for arg in c.argv[2:]:
                named = re.fullmatch(r"\.\[([\w,]+)\]", arg)
                if named:
                    assert set(named.group(1).split(",")) <= extras, c


def _is_help(c: Command) -> bool:
    return "--help" in c.argv and (_is_train(c) or _tool(c) is not None)


def _entry(c: Command) -> tuple[str, Callable[[], object], list[str]]:
    """(program name, the function its console script calls, its arguments): what the command runs."""
    if _is_train(c):
        name, args = "textgan-train", _train_args(c)
    else:
        name, module, args = _tool(c)
        if name not in SCRIPTS:  # `python -m textgan.<module>`
            return module, lambda: runpy.run_module(module, run_name="__main__"), args
    module, function = SCRIPTS[name].split(":")
    return name, getattr(importlib.import_module(module), function), args


def test_help_commands_run():
    """Every `--help` prints its help and exits 0, in a fresh process through the function its console script
    calls (in-process, Hydra's help would leave its logging set up for the tests after it)."""
    helps = {c.argv: c for c in ALL_COMMANDS if _is_help(c)}.values()
    assert helps
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    for c in helps:
        name, function, args = _entry(c)
        code = (f"import sys; from {function.__module__} import {function.__name__} as entry; "
                f"sys.argv = {[name, *args]!r}; entry()")
        proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, f"{c}: exit {proc.returncode}\n{proc.stderr[-2000:]}"
        assert proc.stdout.strip(), f"{c}: printed nothing"


def _first_runs() -> list[Command]:
    """README's smoke-preset runs (the first run), once each."""
    runs = {c.argv: c for c in bash_commands(REPO / "README.md")
            if _is_train(c) and "-m" not in c.argv and any(a.startswith("experiment=smoke_") for a in c.argv)
            and not any("PLACEHOLDER" in a for a in c.argv)}
    return list(runs.values())


@pytest.mark.slow
@pytest.mark.parametrize("command", _first_runs(), ids=str)
def test_first_run_runs(command, tmp_path):
    """As a user starts it: a fresh process in an empty folder; it trains every phase and writes its metrics."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "TEXTGAN_CACHE": str(tmp_path / "cache")}
    argv = [sys.executable, str(REPO / "run.py"), *_train_args(command)]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    assert list((tmp_path / "outputs").glob("*/*/csv/metrics.csv")), "no csv/metrics.csv written"


def test_links_between_documents_resolve():
    broken = []
    for doc in DOCUMENTS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            path = target.split("#", 1)[0]
            if path and not re.match(r"^[a-z]+://", path) and not (doc.parent / path).exists():
                broken.append(f"{doc.relative_to(REPO)}: {target}")
    assert not broken, "\n".join(broken)
