"""Declared = imported: every third-party module that textgan/ imports comes from a
distribution setup.cfg declares in `install_requires`, and every distribution there is imported by textgan/;
what tests import is in the `dev` extra (CI installs `.[dev]`)."""

from __future__ import annotations

import ast
import configparser
import re
import sys
from importlib.metadata import packages_distributions

from conftest import REPO


def _declared(section: str, key: str) -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    lines = [ln.strip() for ln in cfg[section][key].splitlines() if ln.strip()]
    return {re.split(r"[<>=!~\[; ]", ln, maxsplit=1)[0].lower().replace("_", "-") for ln in lines}


def _imported(folder: str) -> set[str]:
    """Top-level third-party modules imported anywhere under `folder` (including imports inside functions)."""
    names: set[str] = set()
    for path in (REPO / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    local = {"textgan", "conftest", "tests"} | {p.stem for p in (REPO / folder).glob("*.py")}  # sibling modules
    return {n for n in names if n not in sys.stdlib_module_names and n not in local}


def _distributions(modules: set[str]) -> set[str]:
    dists = packages_distributions()
    return {dists[m][0].lower().replace("_", "-") for m in modules}


def test_install_requires_is_what_textgan_imports():
    core = _declared("options", "install_requires")
    report = _declared("options.extras_require", "report")
    used = _distributions(_imported("textgan"))
    assert used - core - report == set()  # imported but not declared
    assert core - used == set()  # declared but never imported
    assert report - used == set()


def test_dev_extra_covers_what_tests_import():
    dev = _declared("options.extras_require", "dev") | _declared("options", "install_requires")
    assert _distributions(_imported("tests")) - dev == set()
