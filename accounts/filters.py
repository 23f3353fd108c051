"""Filter pieces shared by the logs that admins search (the audit log, the reminder ledger)."""

import django_filters
from django import forms


def period_filters(field_name: str, *, start_label: str, end_label: str):
    """`start` and `end` of a period of days over a date-time field, both days included."""
    widget = forms.DateInput(attrs={"type": "date"})
    start = django_filters.DateFilter(label=start_label, field_name=field_name, lookup_expr="date__gte", widget=widget)
    end = django_filters.DateFilter(label=end_label, field_name=field_name, lookup_expr="date__lte", widget=widget)
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
