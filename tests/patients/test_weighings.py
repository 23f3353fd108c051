"""Weighings: the newest is the patient's weight; an old one is flagged beside the bag and dose band.

shared/CLINICAL.md: "The weight used must be today's weighing, not an old value on the record."
"""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from patients.models import CareEvent, Weighing
from patients.services import (
    UNCONFIRMED_WEIGHT_CHANGE,
    latest_weighing,
    weighing_record,
    weighing_warning,
    weight_shown,
)

from .helpers import live, rr_course

NY = zoneinfo.ZoneInfo("America/New_York")
START = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 7, tzinfo=NY)  # day 1, two hours before the start


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def course(patient, clock):
    return rr_course(patient, start=START, cycles=2, now=NOW - dt.timedelta(days=3))


def test_a_weighing_becomes_the_patients_weight_with_who_and_when(patient, nurse, clock):
    assert patient.weight_kg == Decimal("70.0")
    # 22:30 in New York is already the next day in UTC: the day kept is the unit's.
    measured_at = dt.datetime(2026, 3, 1, 22, 30, tzinfo=NY)
    weighing = weighing_record(patient=patient, weight_kg="65,04", actor=nurse, measured_at=measured_at, source="ward")
    patient.refresh_from_db()
    # Kept as typed, to 10 g (a comma for the point): never rounded to 65.0.
    assert (patient.weight_kg, patient.weight_measured_on) == (Decimal("65.04"), dt.date(2026, 3, 1))
    assert (weighing.weight_kg, weighing.recorded_by, weighing.measured_at) == (Decimal("65.04"), nurse, measured_at)
    assert latest_weighing(patient) == weighing


def test_an_older_weighing_recorded_late_does_not_replace_the_newest(patient, nurse, clock):
    newest = weighing_record(patient=patient, weight_kg="64", actor=nurse, measured_at=NOW - dt.timedelta(hours=1))
    weighing_record(patient=patient, weight_kg="61", actor=nurse, measured_at=NOW - dt.timedelta(days=5))
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("64.0") and patient.weight_measured_on == dt.date(2026, 3, 2)
    assert latest_weighing(patient) == newest


@pytest.mark.parametrize(
    ("raw", "field", "said"),
    [
        ("0", "weight_kg", "not a possible weight"),
        ("700", "weight_kg", "not a possible weight"),
        ("-4", "weight_kg", "not a possible weight"),
        ("NaN", "weight_kg", "not a possible weight"),
        ("heavy", "weight_kg", "as a number"),
    ],
)
def test_an_impossible_weight_is_refused_and_nothing_changes(patient, nurse, clock, raw, field, said):
    with pytest.raises(ValidationError) as refused:
        weighing_record(patient=patient, weight_kg=raw, actor=nurse)
    assert list(refused.value.message_dict) == [field]
    assert said in refused.value.message_dict[field][0]
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("70.0")
    assert not Weighing.objects.exists()


def test_a_weighing_in_the_future_is_refused(patient, nurse, clock):
    with pytest.raises(ValidationError) as refused:
        weighing_record(patient=patient, weight_kg="65", actor=nurse, measured_at=NOW + dt.timedelta(hours=1))
    assert "future" in refused.value.message_dict["measured_at"][0]
    assert not Weighing.objects.exists()


# --- the warning beside the bag and the dose band ----------------------------------------------


def test_no_weighing_beside_the_records_weight_says_where_that_weight_came_from(course):
    """Found by a review of the pages: "No weighing is recorded" beside a record reading 58.3 kg."""
    start = live(course, CareEvent.Kind.CYCLE_START)[0]
    patient = start.patient
    assert patient.weight_kg and patient.weight_measured_on
    warning = weighing_warning(None, start)
    assert "The record's weight (70 kg, " in warning and "weigh the patient today" in warning


def test_a_weighing_from_before_today_is_flagged(patient, nurse, course):
    old = weighing_record(patient=patient, weight_kg="66", actor=nurse, measured_at=NOW - dt.timedelta(days=2))
    start = live(course, CareEvent.Kind.CYCLE_START)[0]
    warning = weighing_warning(latest_weighing(patient), start, NOW)
    assert "66 kg" in warning and "28 Feb 2026" in warning and "not today" in warning
    assert "weigh the patient" in warning
    assert latest_weighing(patient) == old


def test_todays_weighing_is_not_flagged_and_is_old_tomorrow(patient, nurse, course):
    """CLINICAL.md: the weight used must be today's weighing, not an old value on the record."""
    weighing_record(patient=patient, weight_kg="66", actor=nurse, measured_at=NOW)
    start = live(course, CareEvent.Kind.CYCLE_START)[0]
    assert weighing_warning(latest_weighing(patient), start, NOW) == ""
    # The unit's next day (New York): the same weighing is old, for this cycle's bags too.
    assert "not today" in weighing_warning(latest_weighing(patient), start, NOW + dt.timedelta(hours=17))


# --- the typo guard for a weight: a slipped decimal is asked about before it doses anyone --------


def test_a_weight_far_from_the_newest_weighing_is_asked_about_and_taken_when_confirmed(patient, nurse, clock):
    """7.0 typed for 70 kg would put the patient under the regimen's 45 kg (dose by body-surface
    area) and the preservative bags' limits: it is asked about, with the weighing it differs from."""
    weighing_record(patient=patient, weight_kg="70.0", actor=nurse, measured_at=NOW - dt.timedelta(days=2))
    with pytest.raises(ValidationError) as asked:
        weighing_record(patient=patient, weight_kg="7.0", actor=nurse)
    assert asked.value.message_dict["weight_kg"] == ["70 kg on 28 Feb; 7 kg now is a 90 % drop: confirm or correct."]
    assert asked.value.error_dict["weight_kg"][0].code == UNCONFIRMED_WEIGHT_CHANGE
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("70.0") and Weighing.objects.count() == 1
    weighing_record(patient=patient, weight_kg="7.0", actor=nurse, confirmed=True)
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("7.0") and latest_weighing(patient).weight_kg == Decimal("7.0")


def test_a_patients_first_weighing_is_compared_with_the_records_weight(patient, nurse, clock):
    assert patient.weight_kg == Decimal("70.0") and not Weighing.objects.exists()
    with pytest.raises(ValidationError) as asked:
        weighing_record(patient=patient, weight_kg="170", actor=nurse)
    day = f"{patient.weight_measured_on.day} {patient.weight_measured_on:%b}"
    assert asked.value.message_dict["weight_kg"] == [f"70 kg on {day}; 170 kg now is a 143 % rise: confirm or correct."]
    assert not Weighing.objects.exists()


@pytest.mark.parametrize("raw", ["63.0", "77.0", "66"])
def test_a_weight_within_the_share_is_taken_without_a_question(patient, nurse, clock, raw):
    weighing_record(patient=patient, weight_kg=raw, actor=nurse)
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal(raw)


def test_the_share_that_asks_is_a_setting(patient, nurse, clock, settings):
    settings.WEIGHT_CHANGE_ASK_PERCENT = 5
    with pytest.raises(ValidationError, match="9 % drop"):
        weighing_record(patient=patient, weight_kg="64", actor=nurse)


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("70.00", "70 kg"), ("70.50", "70.5 kg"), ("5.36", "5.36 kg"), ("300.00", "300 kg"), ("0.50", "0.5 kg")],
)
def test_a_weight_is_shown_as_the_scale_showed_it(stored, shown):
    """Kept to 10 g, a weight is shown without the column's zeros: 70 kg, never 70.00 kg."""
    assert weight_shown(Decimal(stored)) == shown
