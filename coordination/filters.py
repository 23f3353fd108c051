import datetime as dt

import django_filters
from django.db.models import Q
from django.utils import timezone

from accounts.models import Unit
from checklists.models import Task
from patients.models import Patient

DUE_WINDOWS = {
    "overdue": ("Overdue", None),
    "2h": ("Due within 2 hours", dt.timedelta(hours=2)),
    "24h": ("Due within 24 hours", dt.timedelta(hours=24)),
    "72h": ("Due within 3 days", dt.timedelta(hours=72)),
    "7d": ("Due within 7 days", dt.timedelta(days=7)),
}


class MyWorkFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label="Status",
        empty_label="To do and to verify",
        choices=[("open", "To do"), ("verify", "To verify")],
        method="filter_status",
    )
    due = django_filters.ChoiceFilter(
        label="Due",
        # A shift's horizon by default: what is late and what falls due in the next day.
        empty_label="Overdue or due in 24 h",
        choices=[(key, label) for key, (label, _) in DUE_WINDOWS.items() if key != "24h"] + [("all", "Any time")],
        method="filter_due",
    )
    patient = django_filters.ModelChoiceFilter(label="Patient", queryset=Patient.objects.none(), empty_label="All")
    unit = django_filters.ModelChoiceFilter(
        label="Unit", field_name="patient__unit", queryset=Unit.objects.none(), empty_label="All"
    )

    class Meta:
        model = Task
        fields = ["status", "due", "patient", "unit"]

    def __init__(self, *args, user, patients: list[Patient], **kwargs):
        """`patients`: those visible to the user (`patients_for_user`, units loaded), already fetched."""
        super().__init__(*args, **kwargs)
        self.patients = patients
        self.units = sorted({patient.unit for patient in patients}, key=str)
        # Checked only when a choice comes in; the options are written from the lists above.
        self.filters["patient"].queryset = Patient.objects.filter(pk__in=[patient.pk for patient in patients])
        self.filters["unit"].queryset = Unit.objects.filter(pk__in=[unit.pk for unit in self.units])

    def fields_with_options(self):
        """Each field of the form with its options as (value, label, selected), to be written out
        by the page: the patient and unit options come from the patients loaded already instead
        of two more queries, and no widget template is rendered per option."""
        loaded = {
            "patient": [(str(patient.pk), str(patient)) for patient in self.patients],
            "unit": [(str(unit.pk), str(unit)) for unit in self.units],
        }
        data = self.form.data if self.is_bound else {}
        for field in self.form:
            if field.name in loaded:
                options = [("", field.field.empty_label), *loaded[field.name]]
            else:
                options = [(str(value), label) for value, label in field.field.choices]
            chosen = str(data.get(field.name) or "")
            yield field, [(value, label, value == chosen) for value, label in options]

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status=Task.Status.OPEN)
        if value == "verify":
            return queryset.filter(status=Task.Status.DONE)
        return queryset

    @property
    def qs(self):
        queryset = super().qs
        if not getattr(self.form, "cleaned_data", {}).get("due"):
            queryset = self.filter_due(queryset, "due", "24h")
        return queryset

    def filter_due(self, queryset, name, value):
        now = timezone.now()
        if value == "all":
            return queryset
        if value == "overdue":
            return queryset.filter(due_at__lt=now, status=Task.Status.OPEN)
        window = DUE_WINDOWS[value][1]
        return queryset.filter(Q(due_at__lte=now + window))
