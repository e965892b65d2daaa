"""The rooms import one way (docs/architecture.md, "Rules of the house": nothing runs back up): a model file is
the paper's model, so `textgan/models/` imports only the small rooms below it (no data, decoding, rollout or fast
path), and `textgan/fast/`, whose sampler `textgan.sampling` draws with (and so the models), imports nothing of
textgan."""

from __future__ import annotations

import ast

from conftest import REPO

BELOW_MODELS = {"textgan.masks", "textgan.policy", "textgan.sampling"}


def _textgan_imports(folder: str) -> set[str]:
    """The textgan modules imported anywhere under `folder` (imports inside functions included)."""
    names: set[str] = set()
    for path in (REPO / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.level == 0, f"{path}: relative import of {node.module}"
                names.add(node.module)
    return {n for n in names if n == "textgan" or n.startswith("textgan.")}


def test_models_import_only_the_rooms_below_them():
    outside = {m for m in _textgan_imports("textgan/models") if not m.startswith("textgan.models")}
    assert outside <= BELOW_MODELS, outside - BELOW_MODELS


def test_fast_paths_import_nothing_of_textgan():
    assert _textgan_imports("textgan/fast") == set()
