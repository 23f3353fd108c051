from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from .models import Patient


class PatientForm(forms.ModelForm):
    """Registration and demographics; the model's validators and clean() give each field its message."""

    class Meta:
        model = Patient
        fields = [
            "mrn",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "weight_kg",
            "weight_measured_on",
            "height_cm",
            "unit",
        ]
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}),
            "weight_measured_on": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, organisation, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.organisation = organisation
        self.fields["unit"].queryset = units
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Save"))

    def clean_mrn(self):
        mrn = self.cleaned_data["mrn"].strip().upper()
        duplicate = Patient.objects.filter(organisation=self.instance.organisation, mrn=mrn)
        if self.instance.pk:
            duplicate = duplicate.exclude(pk=self.instance.pk)
        if duplicate.exists():
            raise forms.ValidationError("Another patient of this organisation already has this MRN.")
        return mrn
