"""Form fields every app shares: a date and time typed on a unit's clock, within sane years.

A year like 9999, converted to UTC, falls outside what Python's datetime can read back: a page
that shows it would fail. Clinical times live between these years; anything else is a typo.
"""

import datetime as dt

from django import forms

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a browser's datetime-local field sends
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local input, read in the current time zone (the view activates the unit's)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", [LOCAL_INPUT, "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)

    def to_python(self, value) -> dt.datetime | None:
        moment = super().to_python(value)
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise forms.ValidationError(
                f"Give a date between {EARLIEST_YEAR} and {LATEST_YEAR}: {moment.year} is a typo.", code="year"
            )
        return moment
