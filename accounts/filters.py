"""Filter pieces shared by the logs that admins search (the audit log, the reminder ledger)."""

import datetime as dt

import django_filters
from django import forms
from django_filters.constants import EMPTY_VALUES


class UtcDayFilter(django_filters.DateFilter):
    """The first (or, with `last=True`, the last) day of a period, both included, as days of the UTC
    calendar: the logs show their times in UTC, so a row shown on 20 March is found under 20 March,
    whatever the reader's unit's clock (a `__date` lookup would cut the days on that clock)."""

    def __init__(self, *args, last: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.last = last

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        if not self.last:
            return qs.filter(**{f"{self.field_name}__gte": utc_midnight(value)})
        if value == dt.date.max:
            return qs  # the end of the calendar: no day comes after it
        return qs.filter(**{f"{self.field_name}__lt": utc_midnight(value + dt.timedelta(days=1))})


def utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=dt.UTC)


def period_filters(field_name: str, *, start_label: str, end_label: str):
    """`start` and `end` of a period of UTC days over a date-time field, both days included."""
    widget = forms.DateInput(attrs={"type": "date"})
    start = UtcDayFilter(label=start_label, field_name=field_name, widget=widget)
    end = UtcDayFilter(label=end_label, field_name=field_name, widget=widget, last=True)
    return start, end


class PeriodFilterSet(django_filters.FilterSet):
    """A filter set with `start` and `end` (period_filters) that refuses a period ending before it starts."""

    def is_valid(self):
        valid = super().is_valid()
        data = self.form.cleaned_data if valid else {}
        if valid and data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.form.add_error("end", "The end of the period comes before its start.")
            return False
        return valid
