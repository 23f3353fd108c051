"""The date and time of every form: a date picker and a 24-hour time (issue 14, item 3), never
midnight for a time left out."""

import datetime as dt
import zoneinfo

import pytest
from django import forms
from django.utils import timezone

from accounts.fields import LocalDateTimeField


class StopForm(forms.Form):
    stopped_at = LocalDateTimeField(label="Stopped at")


def test_it_is_drawn_as_a_date_and_a_24_hour_time_each_with_its_name():
    html = str(StopForm()["stopped_at"])
    assert 'type="date" name="stopped_at_0"' in html and 'aria-label="Stopped at: date"' in html
    assert 'name="stopped_at_1"' in html and 'pattern="([01][0-9]|2[0-3]):[0-5][0-9]"' in html
    assert 'aria-label="Stopped at: time, 24-hour (HH:MM)"' in html and "datetime-local" not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stopped_at_0": "2026-03-29", "stopped_at_1": ""}, "Give the time too, on a 24-hour clock (HH:MM)."),
        ({"stopped_at_0": "", "stopped_at_1": "14:30"}, "Give the date too."),
        ({"stopped_at_0": "2026-03-29", "stopped_at_1": "2pm"}, "Give a date and a time on a 24-hour clock"),
        ({"stopped_at_0": "", "stopped_at_1": ""}, "This field is required."),
    ],
)
def test_half_a_moment_or_a_12_hour_time_is_refused_with_what_to_give(data, message):
    form = StopForm(data)
    assert not form.is_valid()
    assert message in form.errors["stopped_at"][0]


@pytest.mark.parametrize(
    "data", [{"stopped_at_0": "2026-03-29", "stopped_at_1": "14:30"}, {"stopped_at": "2026-03-29T14:30"}]
)
def test_a_date_and_a_time_or_one_value_are_read_alike(data, settings):
    settings.TIME_ZONE = "UTC"
    form = StopForm(data)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["stopped_at"].strftime("%Y-%m-%d %H:%M") == "2026-03-29 14:30"


class StopWithReasonForm(StopForm):
    reason = forms.CharField()


@pytest.mark.parametrize(
    ("data", "date", "time"),
    [
        ({"stopped_at_0": "2025-12-07", "stopped_at_1": "02:07"}, "2025-12-07", "02:07"),  # refused elsewhere
        ({"stopped_at_0": "2026-03-29", "stopped_at_1": ""}, "2026-03-29", ""),  # half given
        ({"stopped_at_0": "", "stopped_at_1": "14:30"}, "", "14:30"),
        ({"stopped_at_0": "2026-03-29", "stopped_at_1": "2pm"}, "2026-03-29", "2pm"),  # a 12-hour time
        ({"stopped_at": "2026-03-29T14:30"}, "2026-03-29", "14:30"),  # one value, as an API client sends
    ],
)
def test_a_refused_form_shows_the_date_and_time_as_they_were_typed(data, date, time):
    """A pharmacist whose bag is refused for its rate, or a nurse whose assessment is refused for a
    mistyped year, sees what she typed and corrects it, rather than typing both again from nothing."""
    form = StopWithReasonForm(data)
    assert not form.is_valid()
    html = str(form["stopped_at"])
    date_input = html.split('name="stopped_at_0"')[1].split(">")[0]
    time_input = html.split('name="stopped_at_1"')[1].split(">")[0]
    assert (f'value="{date}"' in date_input) if date else "value=" not in date_input
    assert (f'value="{time}"' in time_input) if time else "value=" not in time_input


# The clock changes on a unit in New York: on 1 Nov 2026 the clocks go back at 02:00 (EDT) to 01:00
# (EST), so 01:30 comes twice; on 8 Mar 2026 they go forward at 02:00 to 03:00, so 02:30 never comes.
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
REPEATED = {"stopped_at_0": "2026-11-01", "stopped_at_1": "01:30", "reason": "Fever"}


def test_a_time_in_the_repeated_hour_is_answered_with_the_choice_of_its_two_readings():
    with timezone.override(NEW_YORK):
        form = StopWithReasonForm(REPEATED)
        assert not form.is_valid()
        assert form.errors["stopped_at"] == [
            "01:30 came twice on 1 Nov 2026 on this unit's clock (the clocks went back at 02:00): "
            "say which 01:30 it was."
        ]
        html = str(form["stopped_at"])
    assert 'type="radio" name="stopped_at_2" value="first"' in html
    assert "01:30 the first time (EDT, UTC-4)" in html and "01:30 the second time (EST, UTC-5)" in html
    assert 'value="2026-11-01"' in html and 'value="01:30"' in html
    assert form["reason"].value() == "Fever"  # the form's other fields keep their values


@pytest.mark.parametrize(("reading", "utc"), [("first", "05:30"), ("second", "06:30")])
def test_with_its_reading_chosen_a_time_in_the_repeated_hour_is_the_moment_it_says(reading, utc):
    with timezone.override(NEW_YORK):
        form = StopWithReasonForm({**REPEATED, "stopped_at_2": reading})
        assert form.is_valid(), form.errors
        html = str(form["stopped_at"])  # drawn again (another field refused): the choice kept
    assert form.cleaned_data["stopped_at"] == dt.datetime.fromisoformat(f"2026-11-01T{utc}+00:00")
    assert f'value="{reading}" id="id_stopped_at_2_{("first", "second").index(reading)}" required checked' in html


def test_a_time_outside_the_repeated_hour_is_asked_nothing_more():
    with timezone.override(NEW_YORK):
        form = StopWithReasonForm({**REPEATED, "stopped_at_1": "02:30", "stopped_at_2": "second"})
        assert form.is_valid(), form.errors
        assert "radio" not in str(form["stopped_at"])
    assert form.cleaned_data["stopped_at"] == dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.UTC)


def test_a_moment_in_the_repeated_hour_is_drawn_with_its_reading():
    with timezone.override(NEW_YORK):
        html = str(StopForm(initial={"stopped_at": dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)})["stopped_at"])
    assert 'value="01:30"' in html and 'value="second" id="id_stopped_at_2_1" required checked' in html


def test_a_time_the_clocks_skipped_is_refused_with_when_they_went_forward():
    with timezone.override(NEW_YORK):
        form = StopForm({"stopped_at_0": "2026-03-08", "stopped_at_1": "02:30"})
        assert not form.is_valid()
    assert form.errors["stopped_at"] == [
        "02:30 does not exist on 8 Mar 2026 on this unit's clock (the clocks went forward at 02:00): "
        "give the time as the clock showed it."
    ]


@pytest.mark.parametrize(
    ("zone", "day", "time", "message", "readings"),
    [
        (
            "Europe/Berlin",
            "2026-10-25",
            "02:07",
            "02:07 came twice on 25 Oct 2026 on this unit's clock (the clocks went back at 03:00)",
            ("02:07 the first time (CEST, UTC+2)", "02:07 the second time (CET, UTC+1)"),
        ),
        (  # half an hour back, and a zone whose clocks have no name but their offset
            "Australia/Lord_Howe",
            "2026-04-05",
            "01:45",
            "01:45 came twice on 5 Apr 2026 on this unit's clock (the clocks went back at 02:00)",
            ("01:45 the first time (UTC+11)", "01:45 the second time (UTC+10:30)"),
        ),
    ],
)
def test_the_repeated_hour_is_told_on_each_units_own_clock(zone, day, time, message, readings):
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        form = StopForm({"stopped_at_0": day, "stopped_at_1": time})
        assert not form.is_valid()
        html = str(form["stopped_at"])
    assert form.errors["stopped_at"][0].startswith(message)
    assert all(reading in html for reading in readings)
