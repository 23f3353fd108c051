"""Pump and line events (issue 13): marked out of hours by the unit's clock, a stop opens an
interruption, a short pump stop is restarted by the nurse, bad times are refused at their field."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role, Unit
from patients.models import AccessGrant, Interruption, PumpEvent
from patients.services import pump_event_record

from ..factories import UnitFactory, UserFactory
from .helpers import rr_course, snapshot

NY = zoneinfo.ZoneInfo("America/New_York")
START = dt.date(2026, 3, 2)  # a Monday
NOW = dt.datetime(2026, 3, 12, 3, 0, tzinfo=NY)  # a Thursday, 03:00: cycle 1 day 11, at home


@pytest.fixture
def course(patient, time_machine):
    time_machine.move_to(NOW, tick=False)
    return rr_course(patient, start=START, cycles=2, now=NOW - dt.timedelta(days=11))


def record(patient, actor, **fields):
    values = {
        "kind": PumpEvent.Kind.OCCLUSION_ALARM,
        "occurred_at": NOW - dt.timedelta(minutes=40),
        "reported_by": PumpEvent.Reporter.CAREGIVER,
        "action_taken": "Kink in the line undone by phone; pump restarted.",
        "volume_left_ml": Decimal("112"),
        **fields,
    }
    return pump_event_record(patient=patient, actor=actor, **values)


def test_a_night_alarm_without_a_stop_is_logged_out_of_hours(patient, nurse, course):
    event = record(patient, nurse)
    assert event.out_of_hours and event.interruption is None
    assert not Interruption.objects.exists()
    day = record(patient, nurse, occurred_at=dt.datetime(2026, 3, 11, 10, 0, tzinfo=NY))
    assert not day.out_of_hours  # Wednesday 10:00, inside the default 08:00 to 18:00


def test_a_short_pump_stop_is_an_interruption_the_nurse_closes(patient, nurse, course):
    stopped, restarted = NOW - dt.timedelta(minutes=40), NOW - dt.timedelta(minutes=25)
    event = record(patient, nurse, infusion_stopped_at=stopped, infusion_restarted_at=restarted)
    stop = event.interruption
    assert (stop.cause, stop.stopped_at, stop.restarted_at, stop.restarted_by) == (
        Interruption.Cause.PUMP_OR_LINE,
        stopped,
        restarted,
        nurse,
    )
    assert stop.detail.startswith("Alarm: occlusion: Kink in the line")


def test_a_long_stop_is_left_open_for_the_oncologist_and_nothing_is_half_saved(patient, nurse, course):
    before = snapshot(course)
    with pytest.raises(ValidationError) as refused:
        record(
            patient,
            nurse,
            infusion_stopped_at=NOW - dt.timedelta(hours=6),
            infusion_restarted_at=NOW - dt.timedelta(minutes=5),
        )
    assert "the oncologist records it" in refused.value.message_dict["infusion_restarted_at"][0]
    assert snapshot(course) == before and not PumpEvent.objects.exists()
    open_stop = record(patient, nurse, infusion_stopped_at=NOW - dt.timedelta(hours=6)).interruption
    assert open_stop.is_open


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"occurred_at": NOW + dt.timedelta(hours=2)}, "occurred_at", "cannot be in the future"),
        ({"infusion_restarted_at": NOW - dt.timedelta(minutes=5)}, "infusion_restarted_at", "stopped first"),
        (
            {
                "infusion_stopped_at": NOW - dt.timedelta(minutes=5),
                "infusion_restarted_at": NOW - dt.timedelta(hours=1),
            },
            "infusion_restarted_at",
            "after the stop",
        ),
        ({"volume_left_ml": Decimal("-3")}, "volume_left_ml", "greater than or equal to 0"),
    ],
)
def test_bad_times_are_refused_at_their_field(patient, nurse, course, fields, field, words):
    with pytest.raises(ValidationError) as refused:
        record(patient, nurse, **fields)
    assert words in refused.value.message_dict[field][0]
    assert not PumpEvent.objects.exists() and not Interruption.objects.exists()


def test_the_form_records_on_the_units_clock(client, patient, nurse, course):
    client.force_login(nurse)
    url = reverse("patients:pump_event_new", args=[patient.pk])
    page = client.get(url)
    assert page.status_code == 200
    # Who reported it: its radio buttons offer no blank "---------" choice (found by a walk).
    assert 'name="reported_by" value=""' not in page.content.decode()
    response = client.post(
        url,
        {
            "occurred_at": "2026-03-12T02:20",
            "kind": "disconnection",
            "reported_by": "nurse",
            "action_taken": "Reconnected with a new extension set.",
            "infusion_stopped_at": "2026-03-12T02:20",
            "infusion_restarted_at": "2026-03-12T02:45",
        },
    )
    assert response.status_code == 302
    event = PumpEvent.objects.get()
    assert event.occurred_at == dt.datetime(2026, 3, 12, 2, 20, tzinfo=NY)
    assert event.interruption.restarted_at == dt.datetime(2026, 3, 12, 2, 45, tzinfo=NY)


def test_who_restarts_follows_the_cause_and_the_length_of_the_break(patient, nurse, oncologist, course):
    from patients.policy import can_record_restart

    pump = Interruption(course=course, cause=Interruption.Cause.PUMP_OR_LINE, stopped_at=NOW - dt.timedelta(hours=1))
    reaction = Interruption(course=course, cause=Interruption.Cause.ADVERSE_REACTION, stopped_at=pump.stopped_at)
    assert can_record_restart(nurse, patient, interruption=pump, restarted_at=NOW)
    assert not can_record_restart(nurse, patient, interruption=pump, restarted_at=NOW + dt.timedelta(hours=3))
    assert not can_record_restart(nurse, patient, interruption=reaction, restarted_at=NOW)
    assert not can_record_restart(nurse, patient)
    assert can_record_restart(oncologist, patient, interruption=reaction, restarted_at=NOW + dt.timedelta(days=2))


def home_nurse_through_a_grant(patient):
    """A nurse of a home-health agency that sees the patient through a handoff's grant."""
    ward = patient.unit
    agency = UnitFactory(organisation=ward.organisation, kind=Unit.Kind.HOME_HEALTH, time_zone=ward.time_zone)
    AccessGrant.objects.create(patient=patient, unit=agency, reason="Handoff", starts_at=NOW - dt.timedelta(days=1))
    return UserFactory(username="homenurse", role=Role.NURSE, unit=agency)


def test_a_home_nurse_who_stopped_the_pump_is_offered_its_restart_on_her_page(client, patient, course):
    # The agency's nurse sees the limited page, not the course: the stop she recorded at night,
    # and its restart that the policy leaves to her, must be there.
    home_nurse = home_nurse_through_a_grant(patient)
    stop = record(patient, home_nurse, infusion_stopped_at=NOW - dt.timedelta(minutes=40)).interruption
    client.force_login(home_nurse)
    body = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Your unit sees this patient through a handoff" in body
    assert "Infusion stopped" in body and "Thu 12 Mar, 02:20" in body
    assert reverse("patients:interruption_restart", args=[stop.pk]) in body
    response = client.post(
        reverse("patients:interruption_restart", args=[stop.pk]), {"restarted_at": "2026-03-12T02:50"}
    )
    assert response.status_code == 302
    stop.refresh_from_db()
    assert stop.restarted_by == home_nurse
    assert "Infusion stopped" not in client.get(reverse("patient_detail", args=[patient.pk])).content.decode()


def test_a_home_nurse_is_told_who_restarts_after_a_long_stop(client, patient, course):
    home_nurse = home_nurse_through_a_grant(patient)
    stopped = NOW - dt.timedelta(hours=5)
    stop = record(patient, home_nurse, occurred_at=stopped, infusion_stopped_at=stopped).interruption
    client.force_login(home_nurse)
    body = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Infusion stopped" in body and "the oncologist records the restart" in body
    response = client.post(
        reverse("patients:interruption_restart", args=[stop.pk]), {"restarted_at": "2026-03-12T02:55"}
    )
    assert "the oncologist records it" in response.content.decode()  # at the field, nothing saved
    stop.refresh_from_db()
    assert stop.restarted_at is None
