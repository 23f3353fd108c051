"""The handoff forms: they validate what a person typed; the services act on it.

Every free-text field carries its limit (the browser says it, the form refuses beyond it), and
times are typed in the patient's unit's time zone: views validate and render these forms inside
`timezone.override(zone)`. The I-PASS fields are made from the model's (models.IPASS_FIELDS).
"""

import uuid

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import moments
from accounts.fields import LocalDateTimeField
from accounts.models import User
from patients.models import CareEvent

from .models import (
    ACTION_MAX,
    COMMENT_MAX,
    IPASS_FIELDS,
    REASON_MAX,
    SUMMARY_MAX,
    TEXT_MAX,
    Handoff,
    HandoffAction,
)
from .selectors import receiving_people_for, receiving_units_for
from .services import (
    ACTION_DUE_RANGE,
    MAX_ACTIONS,
    NOT_A_RECEIVING_MEMBER,
    ActionSpec,
    HandoffContent,
    default_actions,
    plausible_due,
)


def fields_helper() -> FormHelper:
    """Fields only: the page wraps them in its own form tag."""
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


def local_datetime_field(label: str, **kwargs) -> forms.DateTimeField:
    return LocalDateTimeField(label=label, **kwargs)


def text_area(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return f"{user} ({user.get_role_display().lower()}, {user.unit})"


# What the model does not say of the I-PASS fields: how they are typed, and a hint.
IPASS_WIDGETS = {"patient_summary": text_area(5), "situation_awareness": text_area(), "contingency_plan": text_area(4)}
IPASS_HELP = {
    "patient_summary": f"At most {SUMMARY_MAX:,} characters.",
    "pump": "For example: CADD-Solis, 5 mL/h, 48-hour bag, locked. Needed before sending.",
    "line": "For example: PICC right arm, dedicated lumen, do not flush. Needed before sending.",
    "situation_awareness": "What is going on around the patient: caregiver, home, pending results.",
    "contingency_plan": "If this happens, do that, call them.",
}


class HandoffForm(forms.Form):
    """The sender's part: the receiving side and the I-PASS content (actions: ActionFormSet).
    The I-PASS fields are the model's: their labels, limits, choices and whether they are required."""

    event = forms.ModelChoiceField(
        label="Discharge or event it belongs to", queryset=CareEvent.objects.none(), empty_label="Choose the event…"
    )
    kind = forms.ChoiceField(label="Kind of handoff", choices=Handoff.Kind.choices)
    to_unit = forms.ModelChoiceField(
        label="Receiving unit",
        queryset=None,
        empty_label="Choose…",
        error_messages={
            "invalid_choice": "Choose one of the receiving units listed: a handoff goes to another unit, never to "
            "the sending unit itself."
        },
    )
    to_person = PersonChoiceField(
        label="Receiving person (optional)",
        queryset=None,
        required=False,
        empty_label="Anyone of the unit",
        error_messages={"invalid_choice": NOT_A_RECEIVING_MEMBER},
    )

    def __init__(self, *args, patient, events=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(
            forms.fields_for_model(Handoff, fields=IPASS_FIELDS, widgets=IPASS_WIDGETS, help_texts=IPASS_HELP)
        )
        units = receiving_units_for(patient)
        self.fields["to_unit"].queryset = units
        self.fields["to_person"].queryset = receiving_people_for(units)
        if events is None:
            del self.fields["event"]
        else:
            self.fields["event"].queryset = events
            self.fields["event"].label_from_instance = lambda event: (
                f"{event.get_kind_display()}, cycle {event.cycle.number}: "
                f"{moments.moment(event.planned_at, patient.unit.zone)}"
            )
        self.helper = fields_helper()

    @property
    def ipass_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in IPASS_FIELDS]

    def content(self, actions: list[ActionSpec]) -> HandoffContent:
        data = self.cleaned_data
        return HandoffContent(
            kind=data["kind"],
            to_unit=data["to_unit"],
            to_person=data.get("to_person"),
            actions=actions,
            **{name: data[name] for name in IPASS_FIELDS},
        )


def initial_for(handoff: Handoff) -> dict:
    return {"kind": handoff.kind, "to_unit": handoff.to_unit_id, "to_person": handoff.to_person_id, **handoff.ipass()}


class ActionForm(forms.Form):
    """One row of the action list; a row left empty is no action."""

    text = forms.CharField(label="Action", max_length=ACTION_MAX, required=False)
    role = forms.ChoiceField(
        label="Owning role (receiving side)", choices=[("", "Choose…"), *HandoffAction.ROLE_CHOICES], required=False
    )
    due_at = local_datetime_field("Due", required=False)
    # What the row is for (the first home visit, the first bag change at home), kept from the
    # suggested list through edits: the service checks their order by it, never by the words.
    purpose = forms.ChoiceField(choices=HandoffAction.Purpose.choices, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        given = [name for name in ("text", "role", "due_at") if data.get(name)]
        if given and not (self.has_error("text") or self.has_error("due_at")):
            for name, message in (
                ("text", "Say what is to be done."),
                ("role", "Choose who does it."),
                ("due_at", "Say by when."),
            ):
                if not data.get(name):
                    self.add_error(name, message)
        # The service's rule and words (it checks again, for the API too), said here with the page's
        # other errors: a year of 2001 typed for 2026 is then not told only after all else is fixed.
        if data.get("due_at") and not plausible_due(data["due_at"], timezone.now()):
            self.add_error("due_at", ACTION_DUE_RANGE)
        return data

    def spec(self) -> ActionSpec | None:
        data = getattr(self, "cleaned_data", {})
        if self.errors or not data.get("text") or data.get("DELETE"):
            return None
        return ActionSpec(
            text=data["text"], role=data["role"], due_at=data["due_at"], purpose=data.get("purpose") or ""
        )


class BaseActionFormSet(forms.BaseFormSet):
    def specs(self) -> list[ActionSpec]:
        return [spec for form in self.forms if (spec := form.spec())]

    def clean(self):
        super().clean()
        if len(self.specs()) > MAX_ACTIONS:
            raise ValidationError(f"At most {MAX_ACTIONS} actions.")


ActionFormSet = forms.formset_factory(
    ActionForm, formset=BaseActionFormSet, extra=3, can_delete=True, max_num=MAX_ACTIONS, validate_max=True
)


def action_formset(data=None, *, initial=None) -> BaseActionFormSet:
    """Bound: the rows as posted; unbound: `initial` rows and three empty ones."""
    formset = ActionFormSet(data, initial=None if data is not None else initial, prefix="actions")
    formset.helper = fields_helper()
    for number, form in enumerate(formset.forms, start=1):
        form.helper = formset.helper
        # Each row's fields say which action they belong to (screen readers read labels alone).
        form.fields["text"].label = f"Action {number}"
        form.fields["role"].label = f"Owner of action {number}"
        form.fields["due_at"].label = f"Action {number} due"
        form.fields["DELETE"].label = f"Delete action {number}"
    return formset


def suggested_actions(event: CareEvent) -> list[dict]:
    """The usual receiving-side actions of a hospital-to-home handoff, as the form's first rows."""
    return [{"text": a.text, "role": a.role, "due_at": a.due_at, "purpose": a.purpose} for a in default_actions(event)]


def actions_initial(handoff: Handoff) -> list[dict]:
    return [{"text": a.text, "role": a.role, "due_at": a.due_at, "purpose": a.purpose} for a in handoff.actions.all()]


# --- the small forms of the handoff page ---------------------------------------------------------


class _Small(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.prefix_name)
        super().__init__(*args, **kwargs)
        self.helper = fields_helper()


class AcceptForm(_Small):
    prefix_name = "accept"
    synthesis = forms.CharField(
        label="Your synthesis",
        max_length=TEXT_MAX,
        widget=text_area(4),
        help_text="The patient in your own words, what you asked and what your team will do.",
    )


class ReturnForm(_Small):
    prefix_name = "return"
    reason = forms.CharField(label="Why do you return it?", max_length=REASON_MAX, widget=text_area(2))


class CancelForm(_Small):
    prefix_name = "cancel"
    reason = forms.CharField(label="Why cancel this handoff?", max_length=REASON_MAX, widget=text_area(2))


class CompleteForm(_Small):
    prefix_name = "complete"
    first_visit_at = local_datetime_field("First home visit done at")


class CommentForm(_Small):
    prefix_name = "comment"
    text = forms.CharField(label="Comment (internal, never printed)", max_length=COMMENT_MAX, widget=text_area(2))
    # A new key each time the form is drawn: the service keeps one comment per key.
    submission = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)


class FlagForm(_Small):
    prefix_name = "flag"
    reason = forms.CharField(label="Why does it need attention?", max_length=REASON_MAX)


REVIEW_STATUSES = [
    ("", "All sent"),
    ("overdue", "Waiting, acknowledgement overdue"),
    ("waiting", "Waiting (sent or acknowledged)"),
    *[(status, label) for status, label in Handoff.Status.choices if status != Handoff.Status.DRAFT],
]


class ReviewFilterForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=REVIEW_STATUSES, required=False)
    flagged = forms.BooleanField(label="Flagged only", required=False)
