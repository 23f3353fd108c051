"""The application's database role (the one every test runs as) cannot rewrite the audit log,
nor switch an audit trigger off (accounts.database_roles, accounts.triggers.AlwaysOn)."""

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.audit import audit_record
from accounts.models import AuditEvent
from patients.models import Patient

from ..database_helpers import trigger_names
from ..database_roles import APPLICATION, owner_connection

# Each audit table, with a column of its own.
AUDIT_TABLES = {"accounts_auditevent": "action", "accounts_auditseal": "hash", "accounts_auditsealrun": "head"}


def refused(statement: str, params=()) -> str:
    """The database's refusal of `statement`, run as the application."""
    with pytest.raises(DatabaseError) as refusal, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
    return str(refusal.value)


def test_the_tests_run_as_the_application_role(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == APPLICATION


@pytest.mark.parametrize(("table", "column"), AUDIT_TABLES.items())
def test_the_application_cannot_update_delete_or_empty_the_audit_tables(db, table, column):
    audit_record(action=AuditEvent.Action.VIEW, object_type="patients.patient", object_id=1)
    for statement in (f"UPDATE {table} SET {column} = ''", f"DELETE FROM {table}", f"TRUNCATE {table}"):
        assert "permission denied" in refused(statement)
    assert AuditEvent.objects.exists()


@pytest.mark.parametrize("table", AUDIT_TABLES)
def test_the_application_cannot_switch_an_audit_trigger_off(db, table):
    for name in trigger_names(table):
        assert "must be owner" in refused(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
        assert "must be owner" in refused(f"DROP TRIGGER {name} ON {table}")
    assert "permission denied" in refused("SET session_replication_role = replica")


def test_no_session_setting_switches_the_change_triggers_off(db, patient):
    """pgtrigger's `pgtrigger.ignore` is not heeded by the audit triggers."""
    before = AuditEvent.objects.filter(object_type="patients_patient").count()
    with transaction.atomic(), connection.cursor() as cursor:
        ignored = "{" + ",".join(trigger_names("patients_patient")) + "}"
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [ignored])
        Patient.objects.filter(pk=patient.pk).update(given_name="Changed")
    assert AuditEvent.objects.filter(object_type="patients_patient").count() == before + 1


@pytest.mark.django_db(transaction=True)
def test_not_even_the_owner_rewrites_the_log_with_a_session_setting():
    audit_record(action=AuditEvent.Action.VIEW, object_type="patients.patient", object_id=1)
    ignored = "{" + ",".join(trigger_names("accounts_auditevent")) + "}"
    with owner_connection() as owner, pytest.raises(Exception, match="Cannot update or delete"):
        with owner.transaction():
            owner.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [ignored])
            owner.execute("UPDATE accounts_auditevent SET actor_username = 'someone else'")
    assert not AuditEvent.objects.filter(actor_username="someone else").exists()


def test_the_application_owns_nothing_in_the_database(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT has_schema_privilege(current_user, 'public', 'CREATE')")
        assert cursor.fetchone()[0] is False
