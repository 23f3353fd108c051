"""The record's reads through the API follow the pages: a handoff's receiving unit, which sees the
patient through its access grant, reads the toxicity watch (as the assessments page shows it to
them), not the course plan's stops."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import AccessGrant, Assessment, HomeCheckIn, Interruption, PumpEvent

from ..checklists.helpers import make_event
from ..coordination.handoff_helpers import make_agency, make_home_nurse
from .helpers import bearer, token_for


@pytest.fixture
def record(patient, nurse):
    """One of each: a stop of the infusion, an assessment, a pump event, a home check."""
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    course, now = event.cycle.course, timezone.now()
    return {
        "interruption": Interruption.objects.create(
            patient=patient,
            course=course,
            cycle=event.cycle,
            stopped_at=now - dt.timedelta(hours=1),
            cause=Interruption.Cause.PUMP_OR_LINE,
            stopped_by=nurse,
        ),
        "assessment": Assessment.objects.create(
            patient=patient, assessed_at=now, recorded_by=nurse, crs_grade=1, crs_rule="Fever", icans_grade=0
        ),
        "pump-event": PumpEvent.objects.create(
            patient=patient,
            course=course,
            kind=PumpEvent.Kind.LEAK,
            occurred_at=now - dt.timedelta(hours=2),
            reported_by=PumpEvent.Reporter.CAREGIVER,
            action_taken="Bag changed",
            recorded_by=nurse,
        ),
        "check-in": HomeCheckIn.objects.create(
            patient=patient,
            checked_at=now,
            temperature=38,
            temperature_unit="C",
            temperature_celsius=38,
            signs=["fever"],
            pump_status=HomeCheckIn.PumpStatus.RUNNING,
            red_flags=["Temperature 38.0 °C"],
            recorded_by=nurse,
        ),
    }


@pytest.fixture
def receiving_nurse(patient):
    """A home-health agency's nurse; the agency holds a live grant on the patient (a sent handoff)."""
    agency = make_agency(patient.unit)
    AccessGrant.objects.create(patient=patient, unit=agency, reason="Handoff to home")
    return make_home_nurse(agency)


@pytest.mark.parametrize(
    ("name", "seen"), [("assessment", True), ("pump-event", True), ("check-in", True), ("interruption", False)]
)
def test_a_receiving_unit_reads_the_toxicity_watch_as_its_page_shows_it_not_the_plans_stops(
    client, record, receiving_nurse, name, seen
):
    secret = token_for(receiving_nurse)
    detail = client.get(reverse(f"api:{name}-detail", args=[record[name].pk]), **bearer(secret))
    listed = client.get(reverse(f"api:{name}-list"), **bearer(secret)).json()["results"]
    assert detail.status_code == (200 if seen else 404)
    assert [row["id"] for row in listed] == ([record[name].pk] if seen else [])
    client.force_login(receiving_nurse)  # the page that shows the watch opens to her
    assert client.get(reverse("patients:assessments", args=[record[name].patient_id])).status_code == 200


def test_the_watch_records_read_back_with_who_recorded_them(client, record, nurse):
    secret = token_for(nurse)
    check_in = client.get(reverse("api:check-in-detail", args=[record["check-in"].pk]), **bearer(secret)).json()
    assert (check_in["temperature_celsius"], check_in["red_flags"]) == ("38.0", ["Temperature 38.0 °C"])
    assert check_in["recorded_by"]["username"] == nurse.username
    pump = client.get(reverse("api:pump-event-list") + "?kind=leak", **bearer(secret)).json()["results"]
    assert [(row["kind"], row["reported_by"]) for row in pump] == [("leak", "caregiver")]
    stop = client.get(reverse("api:interruption-detail", args=[record["interruption"].pk]), **bearer(secret)).json()
    assert (stop["cause"], stop["restarted_by"]) == ("pump_or_line", None)
