"""A number beyond its field's digits or bounds is refused with the field's limits, not Django's
own words ("Ensure that there are no more than 3 digits before the decimal point"); a choice not
made yet reads as words, not "---------"."""

import datetime as dt

import pytest

from patients.forms import TEMPERATURE_LIMITS, AssessmentForm, BagForm, CheckInForm, PumpEventForm

ZONE = "America/New_York"


def assessment(**data) -> AssessmentForm:
    return AssessmentForm(data, zone_name=ZONE, age_on=lambda day: 40, today=dt.date(2026, 12, 7))


@pytest.mark.parametrize(
    ("field", "typed", "said"),
    [
        ("temperature", "3755", TEMPERATURE_LIMITS),
        ("temperature", "38.55", TEMPERATURE_LIMITS),
        ("heart_rate", "301", "A heart rate from 0 to 300 a minute, in whole numbers."),
        # Below the bounds too: "at most 300" answered a heart rate of −5 (found by a walk through the demo).
        ("heart_rate", "-5", "A heart rate from 0 to 300 a minute, in whole numbers."),
        ("systolic_bp", "1200", "A systolic pressure from 0 to 300 mmHg, in whole numbers."),
        ("diastolic_bp", "-1", "A diastolic pressure from 0 to 200 mmHg, in whole numbers."),
        ("oxygen_flow_l_min", "150", "An oxygen flow of at most 80 L/min, with one decimal at most, for example 2.5."),
    ],
)
def test_an_assessments_vital_sign_out_of_its_limits_says_them(db, field, typed, said):
    form = assessment(**{field: typed})
    assert not form.is_valid()
    assert form.errors[field] == [said]


def test_an_oxygen_saturation_keeps_its_own_words(db):
    form = assessment(oxygen_saturation="101")
    assert not form.is_valid()
    assert form.errors["oxygen_saturation"] == ["An oxygen saturation is at most 100."]


def test_a_home_checks_temperature_with_too_many_digits_says_the_limits():
    form = CheckInForm({"temperature": "3755"}, zone_name=ZONE)
    assert not form.is_valid()
    assert form.errors["temperature"] == [TEMPERATURE_LIMITS]


def test_a_pump_events_volume_out_of_its_limits_says_them(db):
    for typed in ("123456", "1000.5"):
        form = PumpEventForm({"volume_left_ml": typed}, zone_name=ZONE)
        assert not form.is_valid()
        assert form.errors["volume_left_ml"] == [
            "The volume left, 0 to 1000 mL with one decimal at most, for example 45.5."
        ], typed


def test_the_bag_forms_choice_not_made_yet_and_its_numbers_are_in_words(db):
    form = BagForm({"volume_ml": "1234567", "rate_ml_per_hour": "10.55"}, zone_name=ZONE, organisation_units=[])
    assert list(form.fields["option"].choices)[0][1] == "Choose the bag…"
    assert not form.is_valid()
    assert form.errors["volume_ml"] == [
        "The volume in mL, as on the label, with one decimal at most, for example 240.0."
    ]
    assert form.errors["rate_ml_per_hour"] == [
        "The rate in mL/h, as on the label, with one decimal at most, for example 10.0."
    ]


def test_the_bag_and_pump_forms_ask_for_a_choice_in_words(db):
    """Found by a walk through the pages: Django's "---------" was the first option of the
    pharmacists and of what happened at the pump."""
    bag = BagForm(zone_name=ZONE, organisation_units=[])
    assert bag.fields["compounded_by"].empty_label == "Choose the pharmacist…"
    assert bag.fields["checked_by"].empty_label == "Choose the second pharmacist…"
    pump = PumpEventForm(zone_name=ZONE)
    assert list(pump.fields["kind"].choices)[0] == ("", "Choose what happened…")
    assert "---------" not in bag.as_div() + pump.as_div()
