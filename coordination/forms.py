from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User
from checklists.models import TemplateItem
from checklists.services import ATTESTATION_VALUE, parse_task_value
from patients.models import CareTeamMember

REASON_MAX = 500


def inline_helper() -> FormHelper:
    """Fields only: the page wraps them in its own htmx form."""
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


class TaskCompleteForm(forms.Form):
    """The answer to one task, shaped by its response kind; checked by the same rules as the service."""

    def __init__(self, *args, task, **kwargs):
        kwargs.setdefault("prefix", f"task-{task.pk}")
        super().__init__(*args, **kwargs)
        self.task = task
        self.helper = inline_helper()
        kind = TemplateItem.ResponseKind
        label = task.text
        if task.response_kind == kind.NUMBER:
            hint = f" ({task.limits_text})" if task.limits_text else (f" ({task.unit})" if task.unit else "")
            self.fields["value"] = forms.CharField(
                label=f"{label}{hint}", widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
            )
        elif task.response_kind == kind.CHOICE:
            self.fields["value"] = forms.ChoiceField(
                label=label, choices=[("", "Choose…")] + [(c, c) for c in task.choices]
            )
        elif task.response_kind == kind.TEXT:
            self.fields["value"] = forms.CharField(label=label, max_length=1000)
        elif task.response_kind == kind.ATTESTATION:
            self.fields["value"] = forms.BooleanField(label=f"I attest: {label}")
        else:
            self.fields["value"] = forms.BooleanField(label=label)

    def clean_value(self):
        value = self.cleaned_data["value"]
        if self.task.response_kind == TemplateItem.ResponseKind.ATTESTATION:
            value = ATTESTATION_VALUE if value else ""
        elif value is True:
            value = "yes"
        try:
            parse_task_value(self.task, value)
        except ValidationError as error:
            raise ValidationError(error.message_dict.get("value", error.messages)) from None
        return value


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=REASON_MAX, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )

    def __init__(self, *args, prefix_id: str, label: str = "Reason", **kwargs):
        kwargs.setdefault("prefix", prefix_id)
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label
        self.helper = inline_helper()


def not_applicable_form(task, data=None) -> ReasonForm:
    return ReasonForm(data, prefix_id=f"na-{task.pk}", label="Why does it not apply?")


def undo_form(task, data=None) -> ReasonForm:
    return ReasonForm(data, prefix_id=f"undo-{task.pk}", label="Why undo?")


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label="Why may this event start although it is not ready?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = inline_helper()


class ReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(label="Give to", queryset=User.objects.none())
    reason = forms.CharField(label="Reason", max_length=REASON_MAX)

    def __init__(self, *args, task, candidates=None, **kwargs):
        """`candidates`: the team members who may take it, when the page has loaded them already."""
        kwargs.setdefault("prefix", f"reassign-{task.pk}")
        super().__init__(*args, **kwargs)
        members = CareTeamMember.objects.filter(patient_id=task.patient_id, role=task.role).values("user_id")
        self.fields["assignee"].queryset = User.objects.filter(pk__in=members, is_active=True)
        if candidates is not None:
            self.fields["assignee"].choices = [("", "Choose…")] + [(user.pk, str(user)) for user in candidates]
        self.helper = inline_helper()
