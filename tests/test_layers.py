"""The four layers import downwards only (../shared/DESIGN.md, "Apps and what each owns"):
accounts <- patients <- checklists <- coordination. A lower app that needs a higher one to react
offers a hook that the higher one registers; it never imports it, not even inside a function."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["accounts", "patients", "checklists", "coordination"]


def upward_imports(app: str) -> list[str]:
    higher = set(LAYERS[LAYERS.index(app) + 1 :])
    found = []
    for path in sorted((ROOT / app).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} imports {module}"
                for module in modules
                if module.split(".")[0] in higher
            ]
    return found


@pytest.mark.parametrize("app", LAYERS[:-1])
def test_a_lower_layer_never_imports_a_higher_one(app):
    assert upward_imports(app) == []


def test_the_check_finds_an_upward_import(tmp_path, monkeypatch):
    (tmp_path / "patients").mkdir()
    (tmp_path / "patients" / "late.py").write_text("def f():\n    from coordination.models import Handoff\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert upward_imports("patients") == ["patients/late.py:2 imports coordination.models"]
