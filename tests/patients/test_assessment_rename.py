"""The model DESIGN.md calls `Assessment` was `ToxicityAssessment` until patients 0027: a database
migrated before keeps its assessments, their alerts and the permissions granted on them, and on
PostgreSQL its audit log (sealed rows naming the old table and label), with one audit trigger on
the renamed table. The audit log's page shows the old rows as assessments."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from accounts.audit import audit_record
from accounts.models import AuditEvent

from ..accounts.helpers import verified_login

ROOT = Path(__file__).resolve().parent.parent.parent

BEFORE_THE_RENAME = """
import datetime as dt
import json
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# The database as main left it before the rename: the project's apps at their migrations of then
# (later ones may need patients 0027), Django's and the libraries' at their last.
THEN = {
    "patients": "0026_bag_decision",
    "accounts": "0017_audit_user_filter_indexes",
    "checklists": "0028_condition_fact_next_cycle",
    "coordination": "0021_toxicity_alert_ask_words",
}
for app, migration in THEN.items():
    call_command("migrate", app, migration, verbosity=0)
executor = MigrationExecutor(connection)
for app in sorted({app for app, _ in executor.loader.graph.leaf_nodes()} - set(THEN)):
    call_command("migrate", app, verbosity=0)
executor = MigrationExecutor(connection)
assert ("patients", "0027_assessment_named_as_in_design") not in executor.loader.applied_migrations
old = executor.loader.project_state(
    [("patients", "0026_bag_decision"), ("coordination", "0021_toxicity_alert_ask_words")]
).apps

at = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
organisation = old.get_model("accounts", "Organisation").objects.create(name="Old hospital")
unit = old.get_model("accounts", "Unit").objects.create(organisation=organisation, name="Ward", kind="inpatient_ward")
nurse = old.get_model("accounts", "User").objects.create(username="oldnurse", password="!", role="nurse", unit=unit)
patient = old.get_model("patients", "Patient").objects.create(
    organisation=organisation, unit=unit, mrn="OLD-1", given_name="Ada", family_name="Old",
    birth_date=dt.date(1970, 1, 1), sex="female", weight_kg=70, weight_measured_on=dt.date(2026, 3, 1), height_cm=165,
)
assessments = [
    old.get_model("patients", "ToxicityAssessment").objects.create(
        patient=patient, assessed_at=at + dt.timedelta(hours=hour), recorded_by=nurse, crs_grade=crs,
        crs_rule="rule", icans_grade=0, icans_rule="rule", note=f"written before the rename, {hour} h",
    )
    for hour, crs in ((0, 0), (4, 2))
]
old.get_model("coordination", "ToxicityAlert").objects.create(
    patient=patient, unit=unit, assessment=assessments[1], reason="CRS grade 2", raised_by=nurse, escalate_at=at,
)
# A group granted a permission on the model keeps it.
group = old.get_model("auth", "Group").objects.create(name="Reviewers")
group.permissions.add(old.get_model("auth", "Permission").objects.get(codename="view_toxicityassessment"))

if connection.vendor == "postgresql":
    from accounts.audit import audit_record
    from accounts.audit_seal import audit_seal
    # A read as the views logged them before the rename; then the log is sealed.
    audit_record(action="view", object_type="patients.toxicityassessment", object_id=assessments[0].pk)
    audit_seal()

call_command("migrate", verbosity=0)

from django.contrib.auth.models import Group, Permission
from coordination.watch.models import ToxicityAlert
from patients.models import Assessment
from accounts.audit import audit_record
from accounts.models import AuditEvent

found = {
    "table": Assessment._meta.db_table,
    "assessments": [[a.pk, a.crs_grade, a.note] for a in Assessment.objects.order_by("pk")],
    "before": [[a.pk, a.crs_grade, a.note] for a in assessments],
    "alert": ToxicityAlert.objects.get().assessment_id,
    "group": sorted(Group.objects.get(name="Reviewers").permissions.values_list("codename", flat=True)),
    "stale": sorted(
        Permission.objects.filter(codename__endswith="toxicityassessment").values_list("codename", flat=True)
    ),
}
if connection.vendor == "postgresql":
    from accounts.audit_seal import audit_seal, audit_verify
    old_rows = AuditEvent.objects.filter(object_type__in=["patients_toxicityassessment", "patients.toxicityassessment"])
    found["old_rows"] = sorted({(e.object_type, e.object_type_now) for e in old_rows})
    changed = Assessment.objects.get(pk=assessments[0].pk)
    changed.note = "changed after the rename"
    changed.save()
    updates = AuditEvent.objects.filter(
        object_id=str(changed.pk), detail__operation="update", object_type__endswith="assessment"
    )
    found["logged"] = list(updates.values_list("object_type", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'patients_assessment'::regclass AND NOT tgisinternal"
        )
        found["triggers"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = 'pgtrigger_audit_changes_f6b2a'")
        found["old_function"] = cursor.fetchone()[0]
    audit_seal()
    found["verified"] = audit_verify().problem or "intact"
print("FOUND " + json.dumps(found))
"""


def _migrate_from_before_the_rename(database_url: str, tmp_path: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(DATABASE_URL=database_url, AUDIT_CHECKPOINT_DIR=str(tmp_path / "checkpoints"))
    env.pop("DATABASE_OWNER_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", BEFORE_THE_RENAME],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("FOUND "))
    return json.loads(line.removeprefix("FOUND "))


def _assert_kept(found: dict) -> None:
    assert found["table"] == "patients_assessment"
    assert found["assessments"] == found["before"] and len(found["assessments"]) == 2
    assert found["alert"] == found["before"][1][0]
    assert found["group"] == ["view_assessment"] and found["stale"] == []


@pytest.mark.service
def test_a_sqlite_database_migrated_before_the_rename_keeps_its_assessments(tmp_path):
    _assert_kept(_migrate_from_before_the_rename(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path))


@pytest.fixture
def scratch_postgresql_database():
    """A database of its own beside the test database, made and dropped by the configured user."""
    configured = urlsplit(os.environ["DATABASE_URL"])
    name = f"{connection.settings_dict['NAME']}_before_rename"[:63]
    admin = urlunsplit(configured._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as maintenance:
        maintenance.execute(f'DROP DATABASE IF EXISTS "{name}"')
        maintenance.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(configured._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as maintenance:
        maintenance.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.service
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the audit triggers and seals are PostgreSQL's")
def test_a_postgresql_database_migrated_before_the_rename_keeps_its_assessments_and_its_sealed_log(
    tmp_path, scratch_postgresql_database
):
    found = _migrate_from_before_the_rename(scratch_postgresql_database, tmp_path)
    _assert_kept(found)
    # The sealed rows keep the names they were written with, and read as assessments.
    assert found["old_rows"] == [
        ["patients.toxicityassessment", "patients.assessment"],
        ["patients_toxicityassessment", "patients_assessment"],
    ]
    assert found["verified"] == "intact"
    # One audit trigger on the renamed table (the old one dropped, not left beside the new), and
    # a change after the rename is logged once, under the new table's name.
    assert found["triggers"] == 1 and found["old_function"] == 0
    assert found["logged"] == ["patients_assessment"]


@pytest.mark.django_db
def test_the_audit_log_shows_rows_written_under_the_old_name_as_assessments(client, admin_user):
    for object_type in ("patients_toxicityassessment", "patients.toxicityassessment", "patients_assessment"):
        audit_record(action=AuditEvent.Action.VIEW, object_type=object_type, object_id=7)
    verified_login(client, admin_user)
    page = client.get(reverse("audit:log")).content.decode()
    assert "patients_toxicityassessment #7 <span" in page
    assert "(now patients_assessment)" in page
    assert "patients.toxicityassessment #7 <span" in page
    assert "(now patients.assessment)" in page
    # A row written under the name of now says nothing more.
    assert "patients_assessment #7</td>" in page
