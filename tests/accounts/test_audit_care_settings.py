"""The settings that decide care or access are logged as patient data is: every insert, update and
delete, by a trigger (accounts.triggers.change_trigger), whatever wrote it (the Admin, a bulk update)."""

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEvent, Organisation
from checklists.models import ChecklistTemplate
from coordination.models import ReminderPreference, ToxicityAlert
from patients.models import AccessGrant, Regimen

from ..factories import UserFactory


def changes(table: str, **filters) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type=table, **filters).order_by("id"))


def test_switching_off_someones_reminder_emails_is_logged(nurse):
    preference = ReminderPreference.objects.create(user=nurse, email=True, digest_hour=7)
    ReminderPreference.objects.filter(pk=preference.pk).update(email=False, digest_hour=None)
    pk = preference.pk
    preference.delete()
    rows = changes("coordination_reminderpreference", object_id=str(pk))
    assert [row.detail["operation"] for row in rows] == ["insert", "update", "delete"]
    assert rows[1].detail["changes"] == {"email": [True, False], "digest_hour": [7, None]}


def test_deactivating_a_checklist_template_or_changing_its_approver_is_logged(db):
    template = ChecklistTemplate.objects.create(name="Bag change T", trigger_kind="bag_change")
    ChecklistTemplate.objects.filter(pk=template.pk).update(is_active=False, approver_role="oncologist")
    (row,) = changes("checklists_checklisttemplate", object_id=str(template.pk), action=AuditEvent.Action.UPDATE)
    assert row.detail["changes"] == {"is_active": [True, False], "approver_role": ["", "oncologist"]}


def test_a_change_to_a_regimen_is_logged(db):
    regimen = Regimen.objects.order_by("pk").first()
    Regimen.objects.filter(pk=regimen.pk).update(name="Renamed regimen")
    (row,) = changes("patients_regimen", object_id=str(regimen.pk))
    assert row.detail["changes"] == {"name": [regimen.name, "Renamed regimen"]}


def test_a_change_to_an_organisation_is_logged(db):
    organisation = Organisation.objects.create(name="St Elsewhere")
    Organisation.objects.filter(pk=organisation.pk).update(name="St Elsewhere Hospital")
    rows = changes("accounts_organisation", object_id=str(organisation.pk))
    assert [row.detail["operation"] for row in rows] == ["insert", "update"]


def test_which_grants_an_alert_holds_open_is_logged_with_its_patient(patient, ward, nurse):
    """The link decides when an on-call grant ends (coordination.watch.services._end_on_call_access):
    removed, the grant would outlive the alert."""
    oncologist = UserFactory(role="oncologist", unit=ward)
    grant = AccessGrant.objects.create(patient=patient, user=oncologist, starts_at=timezone.now(), reason="On call")
    alert = ToxicityAlert.objects.create(patient=patient, unit=ward, reason="CRS grade 3", raised_by=nurse)
    alert.access_grants.add(grant)
    alert.access_grants.remove(grant)
    rows = changes("coordination_toxicityalert_access_grants")
    assert [row.detail["operation"] for row in rows] == ["insert", "delete"]
    assert {row.patient_id for row in rows} == {patient.pk}
    assert rows[0].detail["changes"]["accessgrant_id"] == grant.pk


@pytest.mark.parametrize(
    "table",
    [
        "coordination_reminderpreference",
        "checklists_checklisttemplate",
        "patients_regimen",
        "accounts_organisation",
        "coordination_toxicityalert_access_grants",
    ],
)
def test_the_trigger_is_the_audit_one_that_no_session_switches_off(db, table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_functiondef(t.tgfoid) FROM pg_trigger t WHERE t.tgrelid = %s::regclass "
            "AND NOT t.tgisinternal AND t.tgname LIKE 'pgtrigger_audit_changes_%%'",
            [table],
        )
        (definition,) = cursor.fetchone()
    assert "INSERT INTO accounts_auditevent" in definition and "pgtrigger.ignore" not in definition


def test_a_task_activity_is_no_second_log_of_the_change_it_records(nurse, patient):
    """TaskActivity has no trigger: it is the history the patient page shows, written beside a change of
    a task, a checklist or an interruption, each of which its own trigger logs."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'checklists_taskactivity'::regclass AND NOT tgisinternal"
        )
        assert cursor.fetchone() == (0,)
