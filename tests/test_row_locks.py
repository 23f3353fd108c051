"""Every row lock of the apps is FOR NO KEY UPDATE (select_for_update(no_key=True)): FOR UPDATE
also refuses the FOR KEY SHARE that an insert of a row pointing at the locked one takes, and a
patient's row locked so deadlocked a weighing, a care-team change, against a task's completion
(README, "Row locks"; tests/checklists/test_patient_lock_races.py). A FOR UPDATE that is meant
(the row deleted after, or inserts of its children to be held off) is listed here with why."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "patients", "checklists", "coordination")

# (path, function): why it keeps FOR UPDATE.
FOR_UPDATE_MEANT: dict[tuple[str, str], str] = {}


class _Locks(ast.NodeVisitor):
    """(function, line, no_key) of each select_for_update() call, named by its innermost function."""

    def __init__(self):
        self.found, self.function = [], "<module>"

    def visit_FunctionDef(self, node):
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node):
        if getattr(node.func, "attr", None) == "select_for_update":
            no_key = any(
                k.arg == "no_key" and isinstance(k.value, ast.Constant) and k.value.value is True for k in node.keywords
            )
            self.found.append((self.function, node.lineno, no_key))
        self.generic_visit(node)


def _locks():
    """(path, function, line, no_key) of each select_for_update() call in the apps' code."""
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            visitor = _Locks()
            visitor.visit(ast.parse(path.read_text(), filename=str(path)))
            for function, line, no_key in visitor.found:
                yield str(path.relative_to(ROOT)), function, line, no_key


def test_the_apps_lock_rows_for_no_key_update_unless_for_update_is_meant():
    locks = list(_locks())
    assert len(locks) > 50  # the scan sees the services' locks
    unmeant = [
        f"{path}:{line} ({function})"
        for path, function, line, no_key in locks
        if not no_key and (path, function) not in FOR_UPDATE_MEANT
    ]
    assert not unmeant, "select_for_update() without no_key=True: " + ", ".join(unmeant)


def test_each_for_update_meant_is_still_there():
    plain = {(path, function) for path, function, _, no_key in _locks() if not no_key}
    assert set(FOR_UPDATE_MEANT) <= plain
