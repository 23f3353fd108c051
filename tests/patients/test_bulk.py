"""`patients.bulk.rows_update`: one UPDATE for many rows, writing what Django's `bulk_update` would."""

import datetime as dt

import pytest

from accounts.models import AuditEvent
from patients.bulk import rows_update
from patients.models import CareEvent

from ..checklists.helpers import make_event

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_each_row_gets_its_own_values_and_the_others_are_left_alone(patient):
    events = [make_event(patient, planned_at=AT + dt.timedelta(days=n)) for n in range(4)]
    untouched = events.pop()
    for n, event in enumerate(events):
        event.planned_at = AT + dt.timedelta(days=10 + n, hours=n)
        event.status = [CareEvent.Status.PLANNED, CareEvent.Status.CANCELLED, CareEvent.Status.MISSED][n]
        event.note = ["", "Moved: the course was rebuilt", "with 'quotes', a % and a ; too"][n]
    assert rows_update(events, ["planned_at", "status", "note"]) == 3

    for event in events:
        stored = CareEvent.objects.get(pk=event.pk)
        assert (stored.planned_at, stored.status, stored.note) == (event.planned_at, event.status, event.note)
    stored = CareEvent.objects.get(pk=untouched.pk)
    assert (stored.planned_at, stored.status) == (AT + dt.timedelta(days=3), CareEvent.Status.PLANNED)


def test_the_audit_trigger_logs_each_row_written(patient):
    events = [make_event(patient, planned_at=AT + dt.timedelta(days=n)) for n in range(3)]
    for event in events:
        event.planned_at += dt.timedelta(hours=5)
    logged = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE, object_type="patients_careevent").count()
    rows_update(events, ["planned_at"])
    after = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE, object_type="patients_careevent").count()
    assert after - logged == 3


def test_nothing_to_write_writes_nothing_and_a_key_cannot_be_written(patient):
    assert rows_update([], ["planned_at"]) == 0
    with pytest.raises(TypeError):
        rows_update([make_event(patient, planned_at=AT)], ["id"])


def test_an_array_column_is_refused_rather_than_flattened(patient, monkeypatch):
    """unnest() would flatten an array column's values into one array: no model has one yet, so a
    column is made to say it is one."""
    event = make_event(patient, planned_at=AT)
    note = CareEvent._meta.get_field("note")
    monkeypatch.setattr(note, "db_type", lambda connection: "varchar(500)[]")
    with pytest.raises(TypeError, match="array column"):
        rows_update([event], ["note"])


def test_rows_given_in_any_order_are_written_in_one_statement(patient, django_assert_num_queries):
    events = [make_event(patient, planned_at=AT + dt.timedelta(days=n)) for n in range(3)]
    for event in events:
        event.note = f"moved {event.pk}"
    with django_assert_num_queries(1):
        assert rows_update(list(reversed(events)), ["note"]) == 3
    assert [e.note for e in CareEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("pk")] == [
        f"moved {e.pk}" for e in events
    ]
