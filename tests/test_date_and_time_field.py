"""The date and time of every form: a date picker and a 24-hour time (issue 14, item 3), never
midnight for a time left out."""

import pytest
from django import forms

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
