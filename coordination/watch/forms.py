"""The roster form (a period and its shifts, on the unit's clock) and the acknowledgement."""

from crispy_forms.helper import FormHelper
from django import forms

from accounts.fields import LocalDateTimeField
from accounts.models import User

from .models import ON_CALL_ROLES


def _moment(label: str, **kwargs) -> forms.DateTimeField:
    return LocalDateTimeField(label=label, **kwargs)


class RosterPeriodForm(forms.Form):
    role = forms.ChoiceField(choices=ON_CALL_ROLES)
    rank = forms.TypedChoiceField(
        label="Call order", coerce=int, choices=[(1, "First call"), (2, "Second call"), (3, "Third call")]
    )
    period_start = _moment("From")
    period_end = _moment("Until")

    def __init__(self, *args, zone_name: str, roles=None, **kwargs):
        """`roles`: those that the unit has on call (selectors.ROLES_ON_CALL), the only ones offered."""
        super().__init__(*args, **kwargs)
        if roles is not None:
            self.fields["role"].choices = [(value, label) for value, label in ON_CALL_ROLES if value in roles]
        for name in ("period_start", "period_end"):
            self.fields[name].help_text = f"{zone_name}."
        self.helper = FormHelper()
        self.helper.form_tag = False


class ShiftForm(forms.Form):
    user = forms.ModelChoiceField(label="Who", queryset=User.objects.none(), empty_label="Choose who")
    starts_at = _moment("From")
    ends_at = _moment("Until")

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = people


ShiftFormSet = forms.formset_factory(ShiftForm, extra=0, min_num=1, validate_min=True, max_num=60)


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="What you are doing about it", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
