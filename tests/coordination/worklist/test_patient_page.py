"""The patient page opens the cycle under way and loads the others when asked (issue 19's
first step): a nine-cycle course is hundreds of events, most of them done or weeks ahead."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from patients.models import CareEvent, Indication, Setting
from patients.services import course_plan

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def course(patient, oncologist):
    start = timezone.localdate() - dt.timedelta(days=3)  # cycle 1 under way, cycle 2 ahead
    return course_plan(
        patient=patient,
        indication=Indication.RELAPSED_REFRACTORY,
        start_date=start,
        planned_cycles=2,
        bag_hours=48,
        outpatient_setting=Setting.HOME,
        actor=oncologist,
    )


def test_the_cycle_under_way_is_open_and_the_next_one_loads_when_asked(client, nurse, patient, course):
    first, second = course.cycles.order_by("number")
    client.force_login(nurse)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Events of cycle 1" in page  # its table
    live = CareEvent.objects.filter(cycle=second).exclude(status=CareEvent.Status.CANCELLED).count()
    assert f"The {live} events of cycle 2</summary>" in page
    assert f'data-hx-get="/cycles/{second.pk}/events/"' in page and "Events of cycle 2" not in page

    fragment = client.get(reverse("cycle_events", args=[second.pk]), **HTMX).content.decode()
    assert "Events of cycle 2" in fragment and fragment.count("<tr") == live + 1  # and the header
    read = AuditEvent.objects.filter(action="view", object_type="patients.cycle").latest("id")
    assert (read.object_id, read.patient_id) == (str(second.pk), patient.pk)


def test_without_javascript_a_cycle_opens_as_a_page_with_the_patient_banner(client, nurse, patient, course):
    second = course.cycles.get(number=2)
    client.force_login(nurse)
    page = client.get(reverse("cycle_events", args=[second.pk])).content.decode()
    assert f"MRN {patient.mrn}" in page and "<h1" in page and "Events of cycle 2" in page


def test_a_cycle_of_another_teams_patient_is_404(client, outsider, course):
    client.force_login(outsider)
    assert client.get(reverse("cycle_events", args=[course.cycles.first().pk])).status_code == 404
