"""One flow for the course plan's form pages: validate, call the service, put its refusals at
their fields; every time on the page is read and written on the unit's clock."""

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import timezone

from accounts.audit import shows

DEFAULT_TEMPLATE = "patients/course_action.html"


def form_page(request, form, act, *, patient, title: str, template: str = DEFAULT_TEMPLATE, **context):
    """GET shows the form; a valid POST runs `act(cleaned_data)`, whose ValidationError (a
    dict by field, or a message for the form) is shown on the page, nothing saved."""
    shows(request, patient_id=patient.pk)  # the page names the patient: a read (accounts.audit.logs_read)
    with timezone.override(patient.unit.zone):
        if request.method == "POST" and form.is_valid():
            try:
                return act(form.cleaned_data)
            except ValidationError as refusal:
                _add_errors(form, refusal)
        return render(request, template, {"form": form, "patient": patient, "title": title, **context})


def _add_errors(form, refusal: ValidationError) -> None:
    if not hasattr(refusal, "error_dict"):
        form.add_error(None, refusal)
        return
    for field, errors in refusal.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def now_on_unit_clock(zone):
    """Now, to the minute, as a form's first value on the unit's clock."""
    return timezone.localtime(timezone.now(), zone).replace(second=0, microsecond=0, tzinfo=None)
