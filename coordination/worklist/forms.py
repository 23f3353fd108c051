"""The worklist's forms: a task row's answer and reasons (written out without widget templates),
the gate override, the reassignment, and My work's filters."""

import datetime as dt

import django_filters
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from accounts.fields import TIME_24H, DateAndTimeWidget, LocalDateTimeField, clock_reading_html
from accounts.models import Unit, User
from checklists.models import OverrideJustification, Task, TemplateItem
from checklists.policy import assignable_users
from checklists.services import (
    ATTESTATION_VALUE,
    OVERRIDE_REASON_MIN,
    OVERRIDE_REASON_TOO_SHORT,
    UNCONFIRMED_HARD_STOP,
    LeftOpenOutcome,
    parse_task_value,
)
from patients.models import Patient

REASON_MAX = 500


def inline_helper() -> FormHelper:
    """Fields only: the page wraps them in its own htmx form."""
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


def complete_prefix(task) -> str:
    return f"task-{task.pk}"


def complete_label(task) -> str:
    """The label of a task's answer: its text, with a number's limits or unit; an attestation's words."""
    kind = TemplateItem.ResponseKind
    if task.response_kind == kind.NUMBER:
        hint = f" ({task.limits_text})" if task.limits_text else (f" ({task.unit})" if task.unit else "")
        return f"{task.text}{hint}"
    if task.response_kind == kind.ATTESTATION:
        return f"I attest: {task.text}"
    return task.text


def answer_label(task) -> str:
    """The visible label of a task's answer in its row, which shows the task's text just above:
    what to enter, with a number's limits or unit."""
    kind = TemplateItem.ResponseKind
    if task.response_kind == kind.NUMBER:
        hint = task.limits_text or task.unit
        return f"Value ({hint})" if hint else "Value"
    if task.response_kind == kind.ATTESTATION:
        return "I attest"
    if task.response_kind == kind.CHECKBOX:
        return "Yes"
    if task.response_kind == kind.DATETIME:
        return "Date and time given (unit's clock)"
    return "Answer"


class TaskCompleteForm(forms.Form):
    """The answer to one task, shaped by its response kind; checked by the same rules as the service.
    The row writes its field with `row_html` (below), not crispy."""

    def __init__(self, *args, task, **kwargs):
        kwargs.setdefault("prefix", complete_prefix(task))
        super().__init__(*args, **kwargs)
        self.task = task
        kind = TemplateItem.ResponseKind
        label = complete_label(task)
        if task.response_kind == kind.NUMBER:
            self.fields["value"] = forms.CharField(
                label=label, widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
            )
        elif task.response_kind == kind.CHOICE:
            self.fields["value"] = forms.ChoiceField(
                label=label, choices=[("", "Choose…")] + [(c, c) for c in task.choices]
            )
        elif task.response_kind == kind.TEXT:
            self.fields["value"] = forms.CharField(label=label, max_length=1000)
        elif task.response_kind == kind.DATETIME:
            # Sent as a date and a 24-hour time (`row_field_html`), read into one value as every
            # form's date and time is; the service reads it on the unit's clock.
            self.fields["value"] = forms.CharField(label=label, max_length=40, widget=DateAndTimeWidget)
        else:  # checkbox, attestation
            self.fields["value"] = forms.BooleanField(label=label)
        # Sent by the "Record … anyway" button, with the answer it confirms (see `asks_to_confirm`).
        self.fields["confirmed"] = forms.CharField(required=False, max_length=1000)

    @property
    def asks_to_confirm(self) -> bool:
        """The answer fails the hard stop and was not confirmed: the row offers to record it anyway."""
        return self.is_bound and self.has_error("value", code=UNCONFIRMED_HARD_STOP)

    @property
    def typed(self) -> str:
        """The answer as it was typed or chosen, which the confirmation must repeat."""
        return str(self["value"].value() or "")

    def clean_confirmed(self) -> bool:
        confirmed = self.cleaned_data.get("confirmed") or ""
        return bool(confirmed) and confirmed == self.typed

    @property
    def row_html(self) -> str:
        field = self["value"]
        kind = TemplateItem.ResponseKind
        return row_field_html(
            kind=self.task.response_kind,
            html_name=field.html_name,
            label=answer_label(self.task),
            context=self.task.text,
            value=field.value(),
            errors=field.errors,
            choices=self.task.choices,
            zone=self.task.patient.unit.zone if self.task.response_kind == kind.DATETIME and field.value() else None,
        )

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

    def __init__(self, *args, prefix_id: str, label: str = "Reason", context: str = "", **kwargs):
        kwargs.setdefault("prefix", prefix_id)
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label
        self.context = context  # the task's text, which starts the label for screen readers

    @property
    def row_html(self) -> str:
        field = self["reason"]
        return row_field_html(
            kind="reason",
            html_name=field.html_name,
            label=field.label,
            context=self.context,
            value=field.value(),
            errors=field.errors,
        )


NOT_APPLICABLE = "na", "Why does it not apply?"  # the form's prefix (with the task's id) and label
UNDO = "undo", "Why undo?"


def not_applicable_form(task, data=None) -> ReasonForm:
    return ReasonForm(data, prefix_id=f"{NOT_APPLICABLE[0]}-{task.pk}", label=NOT_APPLICABLE[1], context=task.text)


def undo_form(task, data=None) -> ReasonForm:
    return ReasonForm(data, prefix_id=f"{UNDO[0]}-{task.pk}", label=UNDO[1], context=task.text)


# --- the forms of a task row, written out without widget templates -------------------------
#
# A page of My work shows up to three forms a row. Built as Django forms and rendered by crispy,
# 50 rows took most of the page's time (docs/performance.md, "Dashboard load"). So a row form
# writes its one field itself (`row_html`: crispy's bootstrap5 markup, with the errors and their
# ARIA links), and a row that shows an empty form builds no Django form at all (RowForm). Forms
# that come back with errors are the real forms above, written by the same function.

ROW_INPUT_ATTRS = {
    "number": {"inputmode": "decimal", "autocomplete": "off"},
    "text": {"maxlength": "1000"},
    "reason": {"autocomplete": "off", "maxlength": str(REASON_MAX)},
}


def row_field_html(
    *, kind: str, html_name: str, label: str, context: str = "", value=None, errors=(), choices=(), zone=None
) -> str:
    """One required field of a row form: a checkbox (or attestation), choice, number, text or reason.
    `context` (the task's text) starts the label for screen readers only: the row shows it already.
    `zone`: the clock a date and time is on (the task's unit's), for the choice of a repeated hour.

    Plain f-strings over escaped values: format_html's per-argument work cost as much as the
    rest of a row."""
    field_id = f"id_{escape(html_name)}"
    hidden = f'<span class="visually-hidden">{escape(context)}: </span>' if context else ""
    label = f'{hidden}{escape(label)}<span class="asteriskField">*</span>'
    invalid, aria, messages = "", "", ""
    if errors:
        invalid = " is-invalid"
        aria = f' aria-invalid="true" aria-describedby="{field_id}_error"'
        spans = "".join(
            f'<span id="error_{n}_{field_id}"><strong>{escape(error)}</strong></span>'
            for n, error in enumerate(errors, 1)
        )
        messages = f' <div id="{field_id}_error" class="invalid-feedback">{spans}</div>'
    if kind == "checkbox":
        # Done in one press: the row's Done button says what is done (its hidden words name the task).
        # A refusal at the answer ("First: …", the task waits for another) has no visible field to
        # stand at: it is said here, shown, or the press would seem to do nothing.
        refusal = (
            f'<div id="{field_id}_error" class="invalid-feedback d-block" role="alert">{spans}</div>' if errors else ""
        )
        return mark_safe(f'<input type="hidden" name="{escape(html_name)}" value="on">{refusal}')  # noqa: S308 (escaped)
    if kind == "attestation":
        checked = " checked" if value else ""
        return mark_safe(  # noqa: S308  (every value above is escaped)
            f'<div class="mb-1"><div id="div_{field_id}" class="form-check"><input type="checkbox" '
            f'name="{escape(html_name)}" class="checkboxinput form-check-input{invalid}" required{checked}{aria} '
            f'id="{field_id}"> <label for="{field_id}" class="form-check-label requiredField">{label}</label>'
            f"{messages}</div></div>"
        )
    if kind == "datetime":
        # A date and a 24-hour time, as DateAndTimeWidget draws them elsewhere: a datetime-local
        # picker shows AM and PM in a browser set to US English (a premedication 12 hours off).
        date, time, _ = DateAndTimeWidget().decompress(value)
        date_value = f' value="{escape(date)}"' if date else ""
        time_value = f' value="{escape(time)}"' if time else ""
        side = f"d-inline-block w-auto me-1 form-control{invalid}"
        # A time in the hour the clocks went back over: which one, as the widget asks it.
        reading = ""
        if value and zone is not None:
            with timezone.override(zone):
                reading = clock_reading_html(f"{html_name}_2", field_id, value)
        return mark_safe(  # noqa: S308  (every value above is escaped)
            f'<div id="div_{field_id}" class="mb-1"><label for="{field_id}_0" class="form-label small mb-0 d-block '
            f'requiredField">{label}</label><input type="date" name="{escape(html_name)}_0"'
            f'{date_value} class="{side}" required{aria} id="{field_id}_0" aria-label="{escape(context or "Date")}: '
            f'date"><input type="text" name="{escape(html_name)}_1"{time_value} inputmode="numeric" '
            f'pattern="{TIME_24H}" placeholder="HH:MM" maxlength="5" size="6" autocomplete="off" class="{side}" '
            f'required{aria} id="{field_id}_1" aria-label="{escape(context or "Time")}: time, 24-hour (HH:MM)">'
            f"{messages}{reading}</div>"
        )
    if kind == "choice":
        options = "".join(
            f'<option value="{escape(choice)}"{" selected" if choice == value else ""}>{escape(choice)}</option>'
            for choice in choices
        )
        widget = (
            f'<select name="{escape(html_name)}" class="select form-select{invalid}" required{aria} id="{field_id}">'
            f'<option value=""{"" if value else " selected"}>Choose…</option>{options}</select>'
        )
    else:
        attrs = "".join(f' {name}="{text}"' for name, text in ROW_INPUT_ATTRS[kind].items())
        filled = f' value="{escape(value)}"' if value else ""
        widget = (
            f'<input type="text" name="{escape(html_name)}"{filled}{attrs} '
            f'class="textinput form-control{invalid}" required{aria} id="{field_id}">'
        )
    return mark_safe(  # noqa: S308  (every value above is escaped)
        f'<div id="div_{field_id}" class="mb-1"><label for="{field_id}" class="form-label small mb-0 requiredField">'
        f"{label}</label> {widget}{messages}</div>"
    )


class RowForm:
    """A row's empty form, as the row template reads it (`row_html`, `errors`), without a Django form."""

    errors: dict = {}

    def __init__(self, *, kind: str, html_name: str, label: str, context: str = "", choices=()):
        self.row_html = row_field_html(kind=kind, html_name=html_name, label=label, context=context, choices=choices)


def empty_complete_form(task) -> RowForm:
    html_name = f"{complete_prefix(task)}-value"
    return RowForm(
        kind=task.response_kind, html_name=html_name, label=answer_label(task), context=task.text, choices=task.choices
    )


def empty_not_applicable_form(task) -> RowForm:
    prefix, label = NOT_APPLICABLE
    return RowForm(kind="reason", html_name=f"{prefix}-{task.pk}-reason", label=label, context=task.text)


def empty_undo_form(task) -> RowForm:
    prefix, label = UNDO
    return RowForm(kind="reason", html_name=f"{prefix}-{task.pk}-reason", label=label, context=task.text)


class BlockerKeysField(forms.MultipleChoiceField):
    """The keys of the blockers a page listed (gate.Blocker.key), one hidden input each. Any keys
    are well formed: whether they are what blocks now is the override service's question."""

    widget = forms.MultipleHiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def valid_value(self, value) -> bool:
        return len(value) <= BLOCKER_KEY_MAX


# A task id, a kind and an answer of at most 1,000 characters.
BLOCKER_KEY_MAX = 1100


class OverrideForm(forms.Form):
    """The oncologist's override of a blocked gate: what it covers is listed beside it (the page),
    confirmed with the keys of what was listed, justified by kind and in words
    (checklists.services.event_gate_override)."""

    justification = forms.ChoiceField(
        label="Justification", choices=OverrideJustification.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label="Why may this event start although it is not ready?",
        help_text=f"At least {OVERRIDE_REASON_MIN} characters: what makes the start safe without these items.",
        min_length=OVERRIDE_REASON_MIN,
        error_messages={"min_length": OVERRIDE_REASON_TOO_SHORT},
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(label="I confirm")
    covers = BlockerKeysField()

    def __init__(self, *args, readiness, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = inline_helper()
        self.describe(readiness)

    def describe(self, readiness, *, shown_again: bool = False) -> None:
        """Say what the override covers, as the page lists it now: the confirmation names the count
        (and the failed hard stops), and the form carries the blockers' keys, which the service
        checks against what blocks when it is sent. `shown_again`: the submitted form is drawn
        again, so it carries the list drawn with it."""
        keys = [blocker.key for blocker in readiness.unresolved]
        unresolved, hard_stops = len(readiness.unresolved), len(readiness.hard_stops)
        failed = f", {hard_stops} of them failed hard stop{pluralize(hard_stops)}," if hard_stops else ""
        self.fields["confirm"].label = (
            f"I have reviewed the {unresolved} item{pluralize(unresolved)} listed{failed} and take responsibility "
            "for starting without them."
        )
        self.fields["covers"].initial = keys
        if self.is_bound and shown_again:
            self.data = self.data.copy()
            self.data.setlist(self.add_prefix("covers"), keys)


class ReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(label="Give to", queryset=User.objects.none(), empty_label="Choose who takes it…")
    reason = forms.CharField(label="Reason", max_length=REASON_MAX)

    def __init__(self, *args, task, **kwargs):
        kwargs.setdefault("prefix", f"reassign-{task.pk}")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_users(task)
        self.helper = inline_helper()


class CloseLeftOpenForm(forms.Form):
    """Closing a task left open when its event was done or missed (services.task_close_left_open, which
    checks that a late completion has its time, not in the future)."""

    outcome = forms.ChoiceField(label="What happened", choices=LeftOpenOutcome.choices, widget=forms.RadioSelect)
    reason = forms.CharField(label="Reason", max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, zone_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["done_at"] = LocalDateTimeField(
            label="Done at", required=False, help_text=f"When it was really done, if it was. {zone_name}."
        )
        self.order_fields(["outcome", "done_at", "reason"])
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Close the task"))


# --- My work's filters ------------------------------------------------------------------------

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
        empty_label="Overdue + next 24 h",
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
