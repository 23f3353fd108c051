"""The roster form (a period and its shifts, on the unit's clock) and the acknowledgement."""

from crispy_forms.helper import FormHelper
from django import forms
from django.db.models import Q

from accounts.models import Role, User

from .models import ON_CALL_ROLES

DATETIME_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


def _moment(label: str, **kwargs) -> forms.DateTimeField:
    return forms.DateTimeField(label=label, input_formats=FORMATS, widget=DATETIME_LOCAL, **kwargs)


class RosterPeriodForm(forms.Form):
    role = forms.ChoiceField(choices=ON_CALL_ROLES)
    rank = forms.TypedChoiceField(
        label="Call order", coerce=int, choices=[(1, "First call"), (2, "Second call"), (3, "Third call")]
    )
    period_start = _moment("From")
    period_end = _moment("Until")

    def __init__(self, *args, zone_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("period_start", "period_end"):
            self.fields[name].help_text = f"{zone_name} time."
        self.helper = FormHelper()
        self.helper.form_tag = False


class ShiftForm(forms.Form):
    user = forms.ModelChoiceField(label="Who", queryset=User.objects.none())
    starts_at = _moment("From")
    ends_at = _moment("Until")

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = people


ShiftFormSet = forms.formset_factory(ShiftForm, extra=0, min_num=1, validate_min=True, max_num=60)


def roster_people(unit):
    """Who may be on call for the unit: its organisation's oncologists, its own coordinators and nurses."""
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(role=Role.ONCOLOGIST, unit__organisation_id=unit.organisation_id)
            | Q(role__in=[Role.COORDINATOR, Role.NURSE], unit=unit)
        )
        .order_by("role", "last_name", "first_name")
    )


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="What you are doing about it", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
