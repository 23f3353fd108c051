"""The unit board at the morning huddle: an event whose time has come and gone while it is still
planned and not ready is the most urgent line of all, not one the board leaves out (found by a
review: the board looked only from now on, so a cycle start due at 07:00 with its pump check
missing vanished from it at 07:01, and from everywhere once nothing of it was an open task)."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from checklists.models import Task
from checklists.services import checklists_instantiate

from ...accounts.helpers import verified_login
from ...checklists.helpers import make_event, publish_template
from ...factories import CareTeamMemberFactory, PatientFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_an_event_past_its_time_and_not_ready_is_on_the_board_and_in_its_list(client, ward, nurse, coordinator):
    publish_template(items=[{"text": "Pump programmed and locked", "needs_verification": True}])
    patient = PatientFactory(unit=ward)
    CareTeamMemberFactory(patient=patient, user=nurse, role="nurse")
    now = timezone.now()
    late = make_event(patient, planned_at=now - dt.timedelta(hours=1))
    checklists_instantiate(events=[late])
    # Done, not double-checked: no task of it is open, so no overdue count names it either.
    Task.objects.filter(event=late).update(status="done", completed_by=nurse, completed_at=now)
    verified_login(client, coordinator)

    board = client.get(reverse("board")).content.decode()
    assert "Not ready: past their time or in the next 72 hours (1)" in board
    assert "<strong>Past their time, still planned</strong>: 1 event, waiting for nurse (1)" in board
    assert "Overdue tasks (0)" in board

    listed = client.get(reverse("board_not_ready") + "?window=0", **HTMX).content.decode()
    assert f'href="/events/{late.pk}/"' in listed and f"({patient.mrn})" in listed
    everything = client.get(reverse("board_not_ready")).content.decode()
    assert f'href="/events/{late.pk}/"' in everything


def test_a_cancelled_or_settled_event_past_its_time_is_not_on_the_board(client, ward, nurse, coordinator):
    publish_template(items=[{"text": "Weight"}])
    patient = PatientFactory(unit=ward)
    CareTeamMemberFactory(patient=patient, user=nurse, role="nurse")
    events = [make_event(patient, planned_at=timezone.now() - dt.timedelta(hours=hours)) for hours in (1, 2)]
    checklists_instantiate(events=events)
    events[0].status, events[1].status = "cancelled", "missed"
    for event in events:
        event.save(update_fields=["status"])
    verified_login(client, coordinator)
    board = client.get(reverse("board")).content.decode()
    assert "past their time or in the next 72 hours (0)" in board
