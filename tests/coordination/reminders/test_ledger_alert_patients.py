"""The reminder ledger names the patient of a toxicity alert's reminders (the alert's patient), on
the page, in its CSV and in the export's audit row, as it does a task's, an event's and a
handoff's, in the same query."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from coordination.models import Reminder
from coordination.watch.models import ToxicityAlert
from patients.services import assessment_record

from ...accounts.helpers import verified_login
from ...query_count import queries_of
from ..watch.test_alerts import NIGHT, NORMAL_ICE, roster  # noqa: F401 (the fixture)

Kind = Reminder.Kind


@pytest.fixture
def alert(patient, nurse, roster):  # noqa: F811 (the fixture imported above)
    """An ICANS grade 2 at night: an alert to the first oncologist on call and the coordinator."""
    findings = {"temperature": Decimal("37.0"), "temperature_unit": "C", **NORMAL_ICE}
    findings |= {"ice_orientation": 1, "ice_naming": 2}
    assessment_record(patient=patient, actor=nurse, assessed_at=NIGHT - dt.timedelta(minutes=5), findings=findings)
    alert = ToxicityAlert.objects.get()
    assert Reminder.objects.filter(alert=alert, kind=Kind.TOXICITY_ALERT).count() == 2
    return alert


def _escalated(alert, *, n: int) -> None:
    """`n` escalation reminders of the alert (copies of one of its reminders, an hour apart)."""
    first = Reminder.objects.filter(alert=alert).first()
    for hour in range(1, n + 1):
        first.pk, first.kind = None, Kind.TOXICITY_ESCALATION
        first.due_at = NIGHT + dt.timedelta(hours=hour)
        first.save()


def _download(client, **query) -> list[list[str]]:
    response = client.get(reverse("reminder_ledger"), {**query, "format": "csv"})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.parametrize("kind", [Kind.TOXICITY_ALERT, Kind.TOXICITY_ESCALATION])
def test_an_export_of_alert_reminders_names_their_patient_in_its_audit_row_and_its_rows(
    client, admin_user, alert, patient, kind
):
    _escalated(alert, n=1)
    verified_login(client, admin_user)
    rows = _download(client, kind=kind)
    patient_column = rows[0].index("Patient id")
    assert len(rows) > 1 and {row[patient_column] for row in rows[1:]} == {str(patient.pk)}
    (export,) = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)
    assert export.detail["patients"] == [patient.pk]
    assert export.detail["rows"] == Reminder.objects.filter(kind=kind).count()


def test_the_ledger_page_shows_the_patient_of_an_alert_reminder(client, admin_user, alert, patient):
    verified_login(client, admin_user)
    page = client.get(reverse("reminder_ledger"), {"kind": Kind.TOXICITY_ALERT})
    rows = list(page.context["page"])
    assert len(rows) == 2 and {r.patient_id for r in rows} == {patient.pk}
    assert page.text.count(f"<td>{patient.pk}</td>") == 2


def test_the_ledger_with_alert_reminders_reads_as_many_queries_for_few_rows_as_for_many(client, admin_user, alert):
    verified_login(client, admin_user)
    url = reverse("reminder_ledger")
    client.get(url)  # the session's first look writes its activity
    few = queries_of(client, url), queries_of(client, f"{url}?format=csv")
    _escalated(alert, n=30)
    assert (queries_of(client, url), queries_of(client, f"{url}?format=csv")) == few
