"""Fewer false alarms (issue 14, item 4): an event whose work has not opened is "Not yet due", not a
red "Not ready"; a past event gets its outcome from the beat; a reminder's notification is
resolved when its task is done."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists.models import Task
from checklists.services import checklists_instantiate, events_settle, task_complete
from coordination.models import Notification
from coordination.reminders.selectors import unread_count
from patients.models import CareEvent

from ...accounts.helpers import verified_login
from ...checklists.helpers import make_event, publish_template

ITEMS = [{"text": "Weight", "due_offset_minutes": -24 * 60}, {"text": "Line flushed", "due_offset_minutes": -60}]


@pytest.fixture
def checklist_template(db):
    return publish_template(items=ITEMS)


def event_at(patient, when):
    event = make_event(patient, planned_at=when)
    checklists_instantiate(events=[event])
    return event


def test_an_event_weeks_ahead_is_not_yet_due_on_the_patient_page(client, nurse, patient, checklist_template):
    far = event_at(patient, timezone.now() + dt.timedelta(days=20))
    client.force_login(nurse)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    row = page.split(f'href="/events/{far.pk}/"')[1].split("</tr>")[0]
    assert '<span class="badge text-bg-light border">Not yet due</span>' in row
    assert "Work opens" in row and "text-danger" not in row and "Not ready" not in row


def test_an_event_whose_work_is_open_but_not_late_is_under_way_not_red(client, nurse, patient, checklist_template):
    """Found by a review of the pages: every event of the next day read a red "Not ready"."""
    soon = event_at(patient, timezone.now() + dt.timedelta(hours=40))  # its weight is due in 16 h
    client.force_login(nurse)
    page = client.get(reverse("event_detail", args=[soon.pk])).content.decode()
    assert "Work under way" in page and "text-bg-danger" not in page
    row = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    row = row.split(f'href="/events/{soon.pk}/"')[1].split("</tr>")[0]
    assert "Waiting for nurse (2)" in row and "text-danger" not in row


def test_an_event_whose_work_is_overdue_is_not_ready_in_red(client, nurse, patient, checklist_template):
    late = event_at(patient, timezone.now() + dt.timedelta(hours=20))  # its weight was due 4 h ago
    client.force_login(nurse)
    page = client.get(reverse("event_detail", args=[late.pk])).content.decode()
    assert '<span class="badge text-bg-danger">Not ready</span>' in page
    row = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    row = row.split(f'href="/events/{late.pk}/"')[1].split("</tr>")[0]
    assert '<div class="small text-danger">Waiting for nurse (2)' in row


def test_a_missed_event_is_marked_and_its_gate_is_history(client, nurse, patient, checklist_template, settings):
    settings.EVENT_SETTLE_HOURS = 12
    missed = event_at(patient, timezone.now() - dt.timedelta(hours=13))
    events_settle()
    client.force_login(nurse)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    row = page.split(f'href="/events/{missed.pk}/"')[1].split("</tr>")[0]
    assert '<span class="badge text-bg-danger">Missed</span>' in row
    assert "Not ready" not in row and "Waiting for" not in row


def test_the_board_leaves_out_the_events_not_yet_due(client, coordinator, patient, checklist_template):
    later = event_at(patient, timezone.now() + dt.timedelta(hours=70))  # its weight is due in 46 h
    due = event_at(patient, timezone.now() + dt.timedelta(hours=12))
    verified_login(client, coordinator)
    board = client.get(reverse("board")).content.decode()
    assert "Not ready: past their time or in the next 72 hours (1)" in board
    listed = client.get(reverse("board_not_ready")).content.decode()  # the board's list of them, all windows
    assert f'href="/events/{due.pk}/"' in listed and f'href="/events/{later.pk}/"' not in listed


def test_past_events_get_their_outcome_from_the_beat(patient, nurse, checklist_template, settings):
    settings.EVENT_SETTLE_HOURS = 12
    now = timezone.now()
    ready = event_at(patient, now - dt.timedelta(hours=13))
    for task in Task.objects.filter(event=ready):
        task_complete(task=task, actor=nurse, value="on")
    missed = event_at(patient, now - dt.timedelta(hours=13))
    recent = event_at(patient, now - dt.timedelta(hours=2))
    assert events_settle(now=now) == {"done": 1, "missed": 1}
    statuses = dict(CareEvent.objects.filter(pk__in=[ready.pk, missed.pk, recent.pk]).values_list("pk", "status"))
    assert statuses == {ready.pk: "done", missed.pk: "missed", recent.pk: "planned"}
    assert events_settle(now=now) == {"done": 0, "missed": 0}  # once


def test_a_reminders_notification_is_resolved_when_its_task_is_done(client, nurse, patient, checklist_template):
    event = event_at(patient, timezone.now() + dt.timedelta(hours=3))
    weight = Task.objects.get(event=event, text="Weight")
    Notification.objects.create(recipient=nurse, title="Weight overdue", link="/", task=weight)
    Notification.objects.create(recipient=nurse, title="A course stopped", link="/")
    assert unread_count(nurse) == 2
    task_complete(task=weight, actor=nurse, value="on")
    assert unread_count(nurse) == 1
    client.force_login(nurse)
    page = client.get(reverse("notifications")).content.decode()
    assert "Resolved: task done" in page and page.count(">New<") == 1
