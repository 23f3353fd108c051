"""Two identifiers wherever a patient is named (issue 14, item 5): the name with the MRN (and
the birth date where the plan is worked)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists.models import Task
from checklists.services import checklists_instantiate

from ...accounts.helpers import verified_login
from ...checklists.helpers import make_event, publish_template


@pytest.fixture
def event(patient, nurse):
    publish_template(items=[{"text": "Weight", "due_offset_minutes": -60}])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=2))
    checklists_instantiate(events=[event])
    return event


def test_the_event_page_names_the_patient_with_mrn_and_birth_date(client, nurse, patient, event):
    client.force_login(nurse)
    page = client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert f"MRN {patient.mrn}" in page and f"born {patient.birth_date:%-d %b %Y}" in page


def test_my_work_and_the_boards_overdue_list_name_the_patient_with_the_mrn(client, nurse, coordinator, patient, event):
    Task.objects.filter(event=event).update(due_at=timezone.now() - dt.timedelta(minutes=30))
    named = f"{patient.family_name}, {patient.given_name} ({patient.mrn})"
    client.force_login(nurse)
    assert named in client.get(reverse("home")).content.decode()
    verified_login(client, coordinator)
    overdue = client.get(reverse("board_overdue"), HTTP_HX_REQUEST="true").content.decode()  # opened from the board
    assert named in overdue
