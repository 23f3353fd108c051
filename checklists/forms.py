"""Template editing forms: they validate at the field and save nothing; the views call the services."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Field, Fieldset, Layout, Row, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Role
from patients.models import CareEvent, Patient

from . import conditions, offsets
from .models import (
    ITEM_CONTENT_FIELDS,
    MAX_OFFSET_MINUTES,
    ChecklistTemplate,
    ItemCondition,
    TemplateCondition,
    TemplateItem,
    TemplateVersion,
)
from .policy import VERIFY_TASKS, WORK_TASKS
from .services import TEMPLATE_FIELDS, template_fingerprint, template_item_check, template_item_fingerprint
from .templatetags.checklist_words import item_label


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class DependencyField(forms.ModelMultipleChoiceField):
    """The items of the draft as a list of checkboxes, each named as the editor names it ("#3 …")."""

    widget = forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})

    def label_from_instance(self, obj: TemplateItem) -> str:
        return item_label(obj)


def _roles_with(ability) -> list[tuple[str, str]]:
    return [(value, label) for value, label in Role.choices if value in ability.roles]


OFFSET_TOO_FAR = "An item is due at most 30 days before or after its event; {said} is too far."


class TemplateItemForm(forms.ModelForm):
    """One item of a draft. The model's clean() gives the kind-specific messages (choices, limits…).

    The due time is entered as an amount, a unit and before or after the event, and kept as the
    item's minutes from the event (checklists.offsets)."""

    due_amount = forms.IntegerField(
        label="Due",
        min_value=0,
        max_value=MAX_OFFSET_MINUTES,
        error_messages={
            "required": "Give the amount: 0 for at the event.",
            "invalid": "Give a whole number, for example 2.",
            "min_value": "Give the amount as 0 or more, and choose before or after the event.",
            "max_value": "An item is due at most 30 days before or after its event.",
        },
    )
    due_unit = forms.ChoiceField(label="Time unit", choices=offsets.UNIT_CHOICES)
    due_direction = forms.ChoiceField(label="Before or after", choices=offsets.DIRECTION_CHOICES)
    depends_on = DependencyField(label="Done after", queryset=TemplateItem.objects.none(), required=False)
    choices = forms.CharField(
        label="Options",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For single choice: one option per line.",
    )
    # The item as this page showed it (services.template_item_fingerprint): a change saved by
    # another admin meanwhile is refused, not written over unseen.
    seen = forms.CharField(required=False, widget=forms.HiddenInput)
    failing_choices = forms.CharField(
        label="Failing options",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a single-choice hard stop: the options that fail it, one per line, spelled as above.",
    )

    class Meta:
        model = TemplateItem
        fields = [*(name for name in ITEM_CONTENT_FIELDS if name != "due_offset_minutes"), "depends_on"]
        widgets = {"help_text": forms.Textarea(attrs={"rows": 2}), "source": forms.Textarea(attrs={"rows": 2})}
        labels = {
            "text": "Task text",
            "help_text": "Help for the person doing it",
            "source": "Source",
            "order": "Position",
            "records": "What the answer records",
        }
        help_texts = {
            "source": "The label version or the institution's policy this item rests on, for example "
            "“Blincyto label 2024, section 2.2” or “Unit policy ONC-12”. Shown beside the help.",
        }

    def __init__(self, *args, version: TemplateVersion, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.instance.version = version
        if self.instance.pk:
            self.initial["seen"] = template_item_fingerprint(self.instance)
            self.initial["choices"] = "\n".join(self.instance.choices or [])
            self.initial["failing_choices"] = "\n".join(self.instance.failing_choices or [])
        amount, unit, direction = offsets.split_offset(self.instance.due_offset_minutes or 0)
        self.initial.setdefault("due_amount", amount)
        self.initial.setdefault("due_unit", unit)
        self.initial.setdefault("due_direction", direction)
        self.fields["due_amount"].widget.attrs.update({"inputmode": "numeric", "min": 0})
        # Only the roles that do tasks, and that check them (TemplateItem.clean refuses the others).
        # Words for the choice not made yet; no verifier role: the task's own role checks it (gate.py).
        self.fields["role"].choices = [("", "Choose the role…"), *_roles_with(WORK_TASKS)]
        self.fields["verifier_role"].choices = [("", "The task's own role"), *_roles_with(VERIFY_TASKS)]
        depends_on = self.fields["depends_on"]
        depends_on.queryset = version.items.exclude(pk=self.instance.pk).order_by("order")
        depends_on.help_text = "The items of this draft that must be done first."
        depends_on.error_messages["invalid_choice"] = (
            "Only items of this draft can be chosen; %(value)s is not one of them."
        )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page's form tag carries the token
        self.helper.layout = Layout(
            Row(
                Column("section", css_class="col-sm-6 col-lg-4"),
                Column("order", css_class="col-sm-6 col-lg-2"),
                Column("role", css_class="col-lg-6"),
            ),
            Field("text"),
            Field("help_text"),
            Field("source"),
            Row(
                Column("due_amount", css_class="col-sm-3 col-lg-2"),
                Column("due_unit", css_class="col-sm-4 col-lg-3"),
                Column("due_direction", css_class="col-sm-5 col-lg-4"),
            ),
            HTML('<p class="form-text mt-n2">Due: 0 for at the event; at most 30 days before or after it.</p>'),
            # What the answer records is shown under the kind it needs: a refusal of the pair (a pump
            # rate made a checkbox) is said at this field, which the admin can see and change.
            Row(Column("response_kind", css_class="col-md-6")),
            Field("records"),  # its own row: its choices are sentences, cut off in half a row
            Fieldset("Numbers", Row(Column("unit"), Column("min_value"), Column("max_value"))),
            Fieldset("Single choice", Row(Column("choices"), Column("failing_choices"))),
            Row(
                Column("required", css_class="col-sm-6 col-lg-3"),
                Column("hard_stop", css_class="col-sm-6 col-lg-3"),
                Column("needs_verification", css_class="col-sm-6 col-lg-3"),
                Column("verifier_role", css_class="col-sm-6 col-lg-3"),
            ),
            HTML('{% include "checklists/partials/depends_on_field.html" with field=form.depends_on %}'),
            Field("seen"),
        )

    def clean_choices(self):
        return _lines(self.cleaned_data.get("choices"))

    def clean_failing_choices(self):
        return _lines(self.cleaned_data.get("failing_choices"))

    def clean_source(self):
        """One line, as the task shows it: the box only wraps a long reference for reading."""
        return " ".join((self.cleaned_data.get("source") or "").split())

    def clean(self):
        data = super().clean()
        amount, unit, direction = data.get("due_amount"), data.get("due_unit"), data.get("due_direction")
        if amount is not None and unit and direction:
            minutes = offsets.join_offset(amount, unit, direction)
            if abs(minutes) > MAX_OFFSET_MINUTES:
                self.add_error("due_amount", OFFSET_TOO_FAR.format(said=offsets.describe_offset(minutes)))
            else:
                self.instance.due_offset_minutes = minutes
        try:
            template_item_check(
                version=self.version,
                item=self.instance if self.instance.pk else None,
                order=data.get("order"),
                depends_on=list(data.get("depends_on") or []),
            )
        except ValidationError as error:
            self.add_error(None, error)
        return data

    def saw_current(self, item: TemplateItem) -> None:
        """After a refusal because another admin changed the item meanwhile: the page now shows
        its current version beside the user's fields, so saving again is a choice made knowingly."""
        self.data = self.data.copy()
        self.data[self.add_prefix("seen")] = template_item_fingerprint(item)

    def item_values(self) -> dict:
        """The item's fields as the form read them, for the services (call after is_valid()).

        Read from the instance, which the form has filled: a field left out of the POST (what the
        answer records, by an older page or a client) keeps its value instead of being emptied.
        """
        return {name: getattr(self.instance, name) for name in ITEM_CONTENT_FIELDS}


# --- conditions, one sentence per row: "weight (kg) | is less than | 45" -------------------------

CONDITION_PREFIX = "conditions"


class ConditionValueInput(forms.Widget):
    """The value of a condition, as its fact and operator want it: a list of the allowed values for
    a fact with choices (checkboxes for "is one of"), a number field for a number, a text field
    while no fact is chosen or for several numbers. Several values are read back as one text,
    separated by commas, which conditions.parse_value checks as it checks a typed one."""

    def __init__(self, attrs=None, *, fact: str = "", operator: str = ""):
        super().__init__(attrs)
        self.fact, self.operator = conditions.FACTS.get(fact), operator

    def _inner(self) -> forms.Widget:
        attrs = dict(self.attrs)
        if self.fact is not None and not self.fact.is_number:
            if self.operator == "in":
                attrs["class"] = "form-check-input"
                return forms.CheckboxSelectMultiple(attrs, choices=self.fact.options)
            attrs["class"] = "form-select"
            return forms.Select(attrs, choices=[("", "choose…"), *self.fact.options])
        attrs["class"] = "form-control"
        if self.fact is not None and self.operator != "in":
            return forms.NumberInput({**attrs, "step": "any", "inputmode": "decimal"})
        attrs.setdefault("placeholder", "several separated by commas" if self.operator == "in" else "")
        return forms.TextInput(attrs)

    @property
    def is_several(self) -> bool:
        return isinstance(self._inner(), forms.CheckboxSelectMultiple)

    def _value_for(self, inner: forms.Widget, value):
        if isinstance(inner, forms.CheckboxSelectMultiple):
            return [part.strip() for part in str(value or "").split(",") if part.strip()]
        return value

    def render(self, name, value, attrs=None, renderer=None):
        inner = self._inner()
        return inner.render(name, self._value_for(inner, value), attrs, renderer)

    def subwidgets(self, name, value, attrs=None):
        """One checkbox a value, for the row's template to lay out (only for "is one of")."""
        inner = self._inner()
        yield from inner.subwidgets(name, self._value_for(inner, value), attrs)

    def id_for_label(self, id_):
        return "" if self.is_several else id_  # a group of checkboxes is named by its legend

    def value_from_datadict(self, data, files, name):
        getlist = getattr(data, "getlist", None)
        values = getlist(name) if getlist else ([data[name]] if name in data else [])
        if not values:
            return None
        return ", ".join(value.strip() for value in values if value.strip()) if len(values) > 1 else values[0]

    def value_omitted_from_data(self, data, files, name):
        return name not in data


class ItemConditionForm(forms.ModelForm):
    """One condition row. Left empty, it is no condition and asks for nothing."""

    class Meta:
        model = ItemCondition
        fields = ["fact", "operator", "value"]
        labels = {"fact": "Fact", "operator": "Compared how", "value": "Value"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fact, operator = self._chosen("fact"), self._chosen("operator")
        self.fields["fact"].choices = [("", "choose a fact…"), *conditions.FACT_CHOICES]
        self.fields["operator"].choices = [("", "choose…"), *conditions.OPERATOR_CHOICES]
        self.fields["fact"].error_messages["required"] = "Choose a fact, or leave the whole row empty."
        self.fields["operator"].error_messages["required"] = "Choose how to compare."
        self.fields["value"].error_messages["required"] = "Give a value."
        self.fields["value"].widget = ConditionValueInput(fact=fact, operator=operator)
        self.fields["value"].help_text = ""
        # A change of fact or operator brings the value field that fits them (htmx; without
        # JavaScript the field fits them once the row is saved or refused).
        refresh = {
            "data-hx-get": reverse("checklists:condition_value"),
            "data-hx-trigger": "change",
            "data-hx-target": f"#{self.prefix}-value-slot",
            "data-hx-include": f"#{self.prefix}-row",
            "data-hx-vals": f'{{"prefix": "{self.prefix}"}}',
            "data-hx-swap": "innerHTML",
        }
        for name in ("fact", "operator"):
            self.fields[name].widget.attrs.update({"class": "form-select", **refresh})

    def _chosen(self, name: str) -> str:
        """The row's fact or operator as the page last had it: posted, else stored, else given."""
        if self.is_bound:
            return str(self.data.get(self.add_prefix(name)) or "")
        return str(self.initial.get(name) or getattr(self.instance, name, "") or "")

    @property
    def number(self) -> int:
        """The row's place, counted from 1, for the labels that a screen reader says."""
        index = (self.prefix or "").rsplit("-", 1)[-1]
        return int(index) + 1 if index.isdigit() else 1

    @property
    def value_is_several(self) -> bool:
        return self.fields["value"].widget.is_several

    def clean(self):
        data = super().clean()
        fact, operator, value = data.get("fact"), data.get("operator"), data.get("value")
        if fact and operator and value is not None and not data.get("DELETE"):
            try:
                conditions.parse_value(fact, operator, value)
            except ValidationError as error:
                self.add_error(None, error)
        return data

    def _post_clean(self):
        # The model's clean() runs parse_value too; check it once, so a message is not doubled.
        if not self._errors:
            super()._post_clean()


class TemplateConditionForm(ItemConditionForm):
    class Meta(ItemConditionForm.Meta):
        model = TemplateCondition


class BaseConditionFormSet(forms.BaseInlineFormSet):
    def rows(self) -> list[tuple[str, str, str]]:
        """The conditions to keep: each filled row not marked for removal."""
        return [
            (form.cleaned_data["fact"], form.cleaned_data["operator"], form.cleaned_data["value"])
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]

    def add_refusal(self, errors: list[ValidationError]) -> None:
        """A service's refusal of the conditions as a whole, shown above the rows (call after is_valid())."""
        self.non_form_errors().extend(errors)


ItemConditionFormSet = forms.inlineformset_factory(
    TemplateItem,
    ItemCondition,
    form=ItemConditionForm,
    formset=BaseConditionFormSet,
    extra=2,
    can_delete=True,
    max_num=10,
    validate_max=True,
)
TemplateConditionFormSet = forms.inlineformset_factory(
    ChecklistTemplate,
    TemplateCondition,
    form=TemplateConditionForm,
    formset=BaseConditionFormSet,
    extra=2,
    can_delete=True,
    max_num=10,
    validate_max=True,
)


def show_refusal(form: forms.Form, error: ValidationError, *, conditions: BaseConditionFormSet | None = None) -> None:
    """A service's refusal on the form: next to the field it names (above the condition rows for
    `conditions`), else above the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            if name == "conditions" and conditions is not None:
                conditions.add_refusal(errors)
            else:
                form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


class ChecklistTemplateForm(forms.ModelForm):
    """A template's settings (not versioned: they apply to checklists created from then on)."""

    # The settings as this page showed them (services.template_fingerprint): a change saved by
    # another admin meanwhile is refused, not written over unseen.
    seen = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = ChecklistTemplate
        fields = list(TEMPLATE_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["seen"] = template_fingerprint(self.instance)
        # Words, not Django's "---------", for the choice not made yet (an empty approver is an answer).
        for name, blank in (("trigger_kind", "Choose the kind of event…"), ("approver_role", "Any other admin")):
            self.fields[name].choices = [("", blank), *(c for c in self.fields[name].choices if c[0] != "")]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page's form tag carries the token
        self.helper.layout = Layout(
            Row(Column("name", css_class="col-md-6"), Column("trigger_kind")),
            Field("description"),
            Row(Column("approver_role", css_class="col-md-6"), Column("is_active", css_class="pt-md-4")),
            Field("seen"),
        )

    def saw_current(self, template: ChecklistTemplate) -> None:
        """After a refusal because another admin changed the settings meanwhile: the page shows
        them now beside the user's fields, so saving again is a choice made knowingly."""
        self.data = self.data.copy()
        self.data[self.add_prefix("seen")] = template_fingerprint(template)

    def template_values(self) -> dict:
        """The settings as the form read them, for the services (call after is_valid())."""
        return {name: getattr(self.instance, name) for name in TEMPLATE_FIELDS}


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TemplateVersion) -> str:
        return f"{obj.template.name} v{obj.number} ({obj.get_status_display()})"


class CompareForm(forms.Form):
    a = VersionChoiceField(
        label="Older version", queryset=TemplateVersion.objects.none(), empty_label="Choose a version…"
    )
    b = VersionChoiceField(
        label="Newer version", queryset=TemplateVersion.objects.none(), empty_label="Choose a version…"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        versions = TemplateVersion.objects.select_related("template").order_by("template__name", "number")
        self.fields["a"].queryset = self.fields["b"].queryset = versions
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.layout = Layout(Row(Column("a"), Column("b")))
        self.helper.add_input(Submit("compare", "Compare", css_class="btn-primary"))

    def clean(self):
        data = super().clean()
        a, b = data.get("a"), data.get("b")
        if a and b and a.pk == b.pk:
            self.add_error("b", "Choose two different versions.")
        return data


class EventChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: CareEvent) -> str:
        when = obj.local_planned_at.strftime("%Y-%m-%d %H:%M")
        return f"{obj.patient} · {obj} · {when} ({obj.get_setting_display()}, {obj.get_status_display()})"


class PreviewForm(forms.Form):
    """Pick a patient (optional, narrows the list) and one of their events of the template's kind."""

    patient = forms.ModelChoiceField(
        label="Patient",
        queryset=Patient.objects.none(),
        required=False,
        empty_label="Any patient",
        help_text="Narrows the list of events.",
    )
    event = EventChoiceField(
        label="Care event", queryset=CareEvent.objects.none(), required=False, empty_label="Choose an event…"
    )

    def __init__(self, *args, kind: str, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The access policy holds here too: staff preview on the patients they may see (their
        # care teams or their unit), never on every patient of the hospital.
        visible = Patient.objects.visible_to(user)
        self.fields["patient"].queryset = visible.filter(events__kind=kind).distinct()
        events = (
            CareEvent.objects.filter(kind=kind, patient__in=visible)
            .exclude(status=CareEvent.Status.CANCELLED)
            .select_related("patient__unit", "cycle__course")
            .order_by("planned_at")
        )
        # The patient chosen narrows the events, read as its field reads it: a number of thousands
        # of digits, which Python refuses to read, is no patient (its field says so), not a 500.
        try:
            patient = self.fields["patient"].clean(self.data.get("patient")) if self.is_bound else None
        except ValidationError:
            patient = None
        if patient is not None:
            events = events.filter(patient=patient)
        self.fields["event"].queryset = events
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.layout = Layout(Row(Column("patient", css_class="col-md-4"), Column("event")))
        self.helper.add_input(Submit("preview", "Preview", css_class="btn-primary"))

    def clean(self):
        data = super().clean()
        patient, event = data.get("patient"), data.get("event")
        if patient and event and event.patient_id != patient.pk:
            self.add_error("event", "This event belongs to another patient.")
        return data


# --- import of a template file (checklists.interchange) ----------------------------------------


class TemplateImportForm(forms.Form):
    """A template file to import as a draft. Only its size is checked here, before it is read:
    the service reads and checks the rest."""

    file = forms.FileField(
        label="Template file (JSON)",
        help_text="A file exported from this or another installation (docs/template-format.md), at most 1 MB. "
        "It becomes a draft; nothing is published.",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page's form tag carries the token

    def clean_file(self):
        from .interchange import MAX_BYTES  # the format's limit, said once

        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; a template file is at most "
                f"{MAX_BYTES // 1024 // 1024} MB."
            )
        return upload
