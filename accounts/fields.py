"""Form fields every app shares: a date and time typed on a unit's clock, within sane years.

A year like 9999, converted to UTC, falls outside what Python's datetime can read back: a page
that shows it would fail. Clinical times live between these years; anything else is a typo.
"""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a browser's datetime-local field sends
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099


TIME_24H = r"([01][0-9]|2[0-3]):[0-5][0-9]"
HALF = "|"  # between a date and a time when only one of them was given


class DateAndTimeWidget(forms.MultiWidget):
    """A date picker and a time typed on a 24-hour clock (HH:MM). A browser's datetime-local picker
    shows 12 hours with AM and PM in a browser set to US English: a time misread by 12 hours is a
    premedication or a first visit on the wrong side of the day.

    The browser sends `<name>_0` (the date) and `<name>_1` (the time); a single `<name>` value
    ("2026-03-02T08:50" or "2026-03-02 08:50") is read too."""

    def __init__(self, attrs=None):
        side_by_side = "d-inline-block w-auto me-1"
        date = {"type": "date", "class": side_by_side}
        time = {"inputmode": "numeric", "pattern": TIME_24H, "placeholder": "HH:MM", "maxlength": 5, "size": 6}
        time["class"] = side_by_side
        super().__init__([forms.DateInput(attrs=date, format="%Y-%m-%d"), forms.TextInput(time)], attrs)

    def decompress(self, value):
        if isinstance(value, dt.datetime):
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            return [local.date(), local.strftime("%H:%M")]
        if isinstance(value, str) and value:
            # A refused form is drawn again from what was sent (value_from_datadict's text): each
            # half back in its box as it was typed, to be corrected rather than typed again.
            date, _, time = value.partition(HALF) if HALF in value else value.replace("T", " ", 1).partition(" ")
            return [date or None, time or None]
        return [None, None]

    def value_from_datadict(self, data, files, name):
        if name in data:
            return data.get(name)
        date, time = super().value_from_datadict(data, files, name)
        if bool(date) != bool(time):  # half given: said by the field, never midnight by default
            return f"{date or ''}{HALF}{time or ''}"
        return f"{date or ''} {time or ''}".strip()

    def value_omitted_from_data(self, data, files, name):
        return name not in data and super().value_omitted_from_data(data, files, name)


class LocalDateTimeField(forms.DateTimeField):
    """A date and a 24-hour time (DateAndTimeWidget), read in the current time zone (the view
    activates the unit's)."""

    widget = DateAndTimeWidget

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", [LOCAL_INPUT, "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)
        self.error_messages["invalid"] = "Give a date and a time on a 24-hour clock (HH:MM, for example 14:30)."
        # The pair sits under the field's legend; each input also says what it is, on its own.
        date_input, time_input = self.widget.widgets
        date_input.attrs["aria-label"] = f"{self.label or 'Date'}: date"
        time_input.attrs["aria-label"] = f"{self.label or 'Time'}: time, 24-hour (HH:MM)"

    def to_python(self, value) -> dt.datetime | None:
        if isinstance(value, str) and HALF in value:
            date, _, time = value.partition(HALF)
            missing = "the time too, on a 24-hour clock (HH:MM)" if date else "the date too"
            raise forms.ValidationError(f"Give {missing}.", code="half")
        if isinstance(value, str) and is_a_date(value):
            # One value holding a date alone ("2026-03-29", as an API client may send): Django would
            # read it as midnight, a time nobody gave.
            raise forms.ValidationError("Give the time too, on a 24-hour clock (HH:MM).", code="half")
        moment = super().to_python(value)
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise forms.ValidationError(
                f"Give a date between {EARLIEST_YEAR} and {LATEST_YEAR}: {moment.year} is a typo.", code="year"
            )
        return moment


class ClinicalDateField(forms.DateField):
    """A day of the plan (a course's first day, a cycle's next start), within the same sane years
    as LocalDateTimeField: 9999 overflows a schedule counted on from it, and year 1 is a typo."""

    def to_python(self, value) -> dt.date | None:
        day = super().to_python(value)
        if day is not None and not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise forms.ValidationError(
                f"Give a date between {EARLIEST_YEAR} and {LATEST_YEAR}: {day.year} is a typo.", code="year"
            )
        return day


def is_a_date(value: str) -> bool:
    """A date and nothing more, in any spelling that Python's ISO reader takes as one."""
    try:
        dt.date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def utc_unless_offset(value: str) -> str:
    """A date and time sent without an offset ("2026-12-06T20:00"), with UTC's added
    ("2026-12-06T20:00:00+00:00"), as the API reads its times; anything else as it came: one with
    an offset, a date alone or what is no date and time, which LocalDateTimeField refuses in its
    words. The pages read the same text on the unit's clock (a person at the bedside)."""
    try:
        moment = parse_datetime(value.strip())
    except ValueError:  # well formed, but no such day or hour: the field says so
        return value
    if moment is None or timezone.is_aware(moment) or is_a_date(value):
        return value
    return moment.replace(tzinfo=dt.UTC).isoformat()
