"""The report's filter: a period (the last 7, 30 or 90 days, or from–to) and a unit."""

import datetime as dt

from django import forms
from django.utils import timezone

from accounts import moments

from .period import MAX_DAYS, Period

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
LAST_DAYS = {"7": 7, "30": 30, "90": 90}
CUSTOM = "custom"
# No record is older: an earlier first day is a slip (and year 1 is beyond what the databases'
# date arithmetic takes on some clocks).
EARLIEST = dt.date(2000, 1, 1)


class ReportFilter(forms.Form):
    period = forms.ChoiceField(
        label="Period",
        choices=[("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days"), (CUSTOM, "From – to")],
        initial="30",
        required=False,
    )
    start = forms.DateField(label="From", required=False, widget=DATE_INPUT)
    end = forms.DateField(label="To", required=False, widget=DATE_INPUT)
    unit = forms.IntegerField(label="Unit", required=False, min_value=1, max_value=2_147_483_647, widget=forms.Select)

    def __init__(self, data=None, *, units, default_unit_id: int | None, zone, now: dt.datetime | None = None):
        super().__init__(data)
        # The units offered; another unit's id is refused by the policy (403), not by the form.
        self.fields["unit"].widget.choices = [(unit.pk, unit.name) for unit in units]
        self.zones = {unit.pk: unit.zone for unit in units}
        self.default_unit_id, self.zone, self.now = default_unit_id, zone, now or timezone.now()

    def unit_id(self) -> int | None:
        """The unit asked for (it counts even while the period is being corrected), else the default."""
        asked = self.cleaned_data.get("unit") if self.is_bound and hasattr(self, "cleaned_data") else None
        return asked or self.default_unit_id

    def clean(self):
        data = super().clean()
        # "Today" on the clock of the unit reported on: an administrator's own unit may be elsewhere.
        today = timezone.localtime(self.now, self.zones.get(self.unit_id(), self.zone)).date()
        if data.get("period") == CUSTOM:
            start, end = data.get("start"), data.get("end")
            if start is None:
                self.add_error("start", "Give the first day of the period.")
            if end is None:
                self.add_error("end", "Give the last day of the period.")
            if start and start < EARLIEST:
                self.add_error("start", f"Choose a day from {moments.day(EARLIEST)}.")
            elif start and end:
                if end < start:
                    self.add_error("end", "The last day comes before the first.")
                elif start > today:
                    self.add_error("start", "The period has not begun yet: choose a day up to today.")
                elif (end - start).days + 1 > MAX_DAYS:
                    self.add_error("end", f"A period is at most {MAX_DAYS} days.")
        return data

    def period_for(self, zone) -> Period:
        """The period chosen (the last 30 days when none is)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        choice = data.get("period") or "30"
        if choice == CUSTOM:
            today = timezone.localtime(self.now, zone).date()
            return Period(data["start"], min(data["end"], today), zone, self.now)
        return Period.last_days(LAST_DAYS[choice], zone=zone, now=self.now)
