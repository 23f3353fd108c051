"""Every PostgreSQL advisory lock the project takes is numbered in one place (accounts.db), each
number its own: two jobs given one number make each other skip their turn."""

import re
from pathlib import Path

from accounts import audit_seal, db
from coordination.reminders import sweep

ROOT = Path(__file__).resolve().parent.parent.parent
APPS = ("accounts", "patients", "checklists", "coordination", "config")
# A literal number where a lock is taken, in Python or in a migration's SQL.
LITERAL = re.compile(r"advisory\w*\(\s*(\d[\d_]*)")


def test_each_advisory_lock_has_a_number_of_its_own():
    numbers = list(db.ADVISORY_LOCKS.values())
    assert len(numbers) == len(set(numbers)), db.ADVISORY_LOCKS


def test_the_sealer_and_the_sweep_take_the_numbers_kept_in_one_place():
    assert audit_seal.SEAL_LOCK == db.ADVISORY_LOCKS["audit seal"]
    assert sweep.SWEEP_LOCK == db.ADVISORY_LOCKS["reminder sweep"]


def test_no_lock_is_taken_under_a_number_kept_elsewhere():
    written = {
        f"{path.relative_to(ROOT)}: {number}"
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        for number in LITERAL.findall(path.read_text(encoding="utf-8"))
        if int(number.replace("_", "")) not in db.ADVISORY_LOCKS.values()
    }
    assert written == set()
