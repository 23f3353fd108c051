"""Template editing forms: they validate at the field and save nothing; the views call the services."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Div, Field, Fieldset, Layout, Row, Submit
from django import forms
from django.core.exceptions import ValidationError

from patients.models import CareEvent, Patient

from . import conditions
from .models import (
    ITEM_CONTENT_FIELDS,
    MAX_OFFSET_MINUTES,
    ChecklistTemplate,
    ItemCondition,
    TemplateCondition,
    TemplateItem,
    TemplateVersion,
)
from .services import TEMPLATE_FIELDS, template_item_check


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class TemplateItemForm(forms.ModelForm):
    """One item of a draft. The model's clean() gives the kind-specific messages (choices, limits…)."""

    choices = forms.CharField(
        label="Options",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For single choice: one option per line.",
    )
    failing_choices = forms.CharField(
        label="Failing options",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a single-choice hard stop: the options that fail it, one per line, spelled as above.",
    )

    class Meta:
        model = TemplateItem
        fields = [*ITEM_CONTENT_FIELDS, "depends_on"]
        widgets = {"help_text": forms.Textarea(attrs={"rows": 2})}
        labels = {"text": "Task text", "help_text": "Help for the person doing it", "depends_on": "Done after"}

    def __init__(self, *args, version: TemplateVersion, **kwargs):
        super().__init__(*args, **kwargs)
        self.version = version
        self.instance.version = version
        if self.instance.pk:
            self.initial["choices"] = "\n".join(self.instance.choices or [])
            self.initial["failing_choices"] = "\n".join(self.instance.failing_choices or [])
        offset_help = f"Negative: before the event. At most ±{MAX_OFFSET_MINUTES:,} minutes (30 days)."
        self.fields["due_offset_minutes"].help_text = offset_help
        depends_on = self.fields["depends_on"]
        depends_on.queryset = version.items.exclude(pk=self.instance.pk).order_by("order")
        depends_on.required = False
        depends_on.help_text = "Items of this draft that must be done first."
        depends_on.error_messages["invalid_choice"] = (
            "Only items of this draft can be chosen; %(value)s is not one of them."
        )
        depends_on.widget.attrs["size"] = 6
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page's form tag carries the token
        self.helper.layout = Layout(
            Row(Column("section", css_class="col-md-4"), Column("order", css_class="col-md-2"), Column("role")),
            Field("text"),
            Field("help_text"),
            Row(Column("due_offset_minutes"), Column("response_kind")),
            Fieldset("Numbers", Row(Column("unit"), Column("min_value"), Column("max_value"))),
            Fieldset("Single choice", Row(Column("choices"), Column("failing_choices"))),
            Row(
                Column("required"),
                Column("hard_stop"),
                Column("needs_verification"),
                Column("verifier_role"),
            ),
            Field("depends_on"),
        )

    def clean_choices(self):
        return _lines(self.cleaned_data.get("choices"))

    def clean_failing_choices(self):
        return _lines(self.cleaned_data.get("failing_choices"))

    def clean(self):
        data = super().clean()
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

    def item_values(self) -> dict:
        """The item's fields as the form read them, for the services (call after is_valid()).

        Read from the instance, which the form has filled: a field that the page does not
        show (what the answer records) keeps its value instead of being emptied.
        """
        return {name: getattr(self.instance, name) for name in ITEM_CONTENT_FIELDS}


class ItemConditionForm(forms.ModelForm):
    class Meta:
        model = ItemCondition
        fields = ["fact", "operator", "value"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        value_help = "A number, or a value such as home; several separated by commas for “is one of”."
        self.fields["value"].help_text = value_help

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


def show_refusal(form: forms.Form, error: ValidationError) -> None:
    """A service's refusal on the form: next to the field it names, else above the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def condition_form_helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    helper.layout = Layout(
        Div(
            Column("fact", css_class="col-md-4"),
            Column("operator", css_class="col-md-2"),
            Column("value", css_class="col-md-4"),
            Column("DELETE", css_class="col-md-2 pt-md-4"),
            Field("id"),
            css_class="row",
        )
    )
    return helper


class ChecklistTemplateForm(forms.ModelForm):
    """A template's settings (not versioned: they apply to checklists created from then on)."""

    class Meta:
        model = ChecklistTemplate
        fields = list(TEMPLATE_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page's form tag carries the token
        self.helper.layout = Layout(
            Row(Column("name", css_class="col-md-6"), Column("trigger_kind")),
            Field("description"),
            Field("is_active"),
        )

    def template_values(self) -> dict:
        """The settings as the form read them, for the services (call after is_valid())."""
        return {name: getattr(self.instance, name) for name in TEMPLATE_FIELDS}


class PublishForm(forms.Form):
    change_summary = forms.CharField(
        label="What changed",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown in the version history, for example “Dexamethasone item now for adults only”.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Publish", css_class="btn-success"))


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: TemplateVersion) -> str:
        return f"{obj.template.name} v{obj.number} ({obj.get_status_display()})"


class CompareForm(forms.Form):
    a = VersionChoiceField(label="Older version", queryset=TemplateVersion.objects.none())
    b = VersionChoiceField(label="Newer version", queryset=TemplateVersion.objects.none())

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
        label="Patient", queryset=Patient.objects.none(), required=False, help_text="Narrows the list of events."
    )
    event = EventChoiceField(label="Care event", queryset=CareEvent.objects.none(), required=False)

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
        patient_id = self.data.get("patient") if self.is_bound else None
        if patient_id and str(patient_id).isdigit():
            events = events.filter(patient_id=patient_id)
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
