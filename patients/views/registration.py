import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts import moments
from accounts.audit import logs_read, shows
from accounts.db import constraint_of
from accounts.models import Unit
from accounts.permissions import require

from ..forms import DUPLICATE_MRN, PatientForm, record_version
from ..models import Patient
from ..models.record import MRN_UNIQUE
from ..policy import REGISTER_PATIENT
from ..selectors import get_patient_for_user, patients_for_user
from ..services import (
    FACT_FIELDS,
    UNCONFIRMED_WEIGHT_CHANGE,
    latest_weighing,
    patient_facts_changed,
    weighing_record,
    weight_shown,
)
from ..services.team import CLINICAL_UNITS

# What a weighing sets on the record (patients.services.weighing_record): never the form's to write.
WEIGHT_FIELDS = {"weight_kg", "weight_measured_on"}
# The edit form's own fields, none of them the record's: the version it was drawn from, and the
# confirmation of a weight asked about.
FORM_ONLY = {"loaded", "weight_confirmed", "weight_is_right"}


@logs_read("patients.list")
def patient_list(request):
    patients = list(patients_for_user(request.user).order_by("family_name", "given_name"))
    # A list shows names and MRNs: one row names every patient on it.
    shows(request, patients=[patient.pk for patient in patients])
    return render(request, "patients/patient_list.html", {"patients": patients})


def _registration_units(user):
    """A coordinator registers patients into their own unit, if it is a ward or a clinic (a
    home-health agency receives patients through handoffs). Moving one later is a transfer."""
    return Unit.objects.filter(pk=user.unit_id, kind__in=CLINICAL_UNITS)


def patient_create(request):
    # Registering a patient is the unit coordinator's job; the new patient joins their unit.
    require(request.user, REGISTER_PATIENT)
    units = _registration_units(request.user)
    if not units:
        raise PermissionDenied("A patient joins your unit, which must be a ward or a clinic: ask an administrator.")
    form = PatientForm(
        request.POST or None, organisation=request.user.unit.organisation, units=units, initial={"unit": units[0].pk}
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                patient = form.save()
                _record_weighing(request, patient, patient.weight_kg, patient.weight_measured_on)
        except IntegrityError as error:
            # Another registration of this MRN committed between the form's look and this insert.
            if constraint_of(error) != MRN_UNIQUE:
                raise
            form.add_error("mrn", DUPLICATE_MRN)
        else:
            messages.success(request, f"{patient.full_name} is registered.")
            return redirect("patient_detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "title": "Register a patient"})


class RecordChanged(Exception):
    """The record changed after the edit form was drawn: the save would write over that change."""


@logs_read("patients.patient", page="edit")
def patient_edit(request, pk):
    patient = get_patient_for_user(request.user, pk, write=True)
    shows(request, patient_id=patient.pk)
    form = PatientForm(request.POST or None, instance=patient, organisation=patient.organisation, units=None)
    # "Today" (no birth or weighing after it) is the patient's unit's, as the weighing reads it, not
    # that of the editor's own unit, whose day may already be the patient's tomorrow.
    with timezone.override(patient.unit.zone):
        valid = request.method == "POST" and form.is_valid()
    context = {"title": f"Edit {patient.full_name}"}
    if valid:
        try:
            kept_earlier = _save_edit(request, form)
        except IntegrityError as error:
            # Another registration took this MRN between the form's look and this update.
            if constraint_of(error) != MRN_UNIQUE:
                raise
            form.add_error("mrn", DUPLICATE_MRN)
        except ValidationError as error:
            # A weight far from the weighing before it: nothing saved, the question at the weight.
            asked = getattr(error, "error_dict", {}).get("weight_kg", [])
            if not any(e.code == UNCONFIRMED_WEIGHT_CHANGE for e in asked):
                raise
            form.ask_about_weight(" ".join(e.message for e in asked))
        except RecordChanged:
            # Nothing saved: the form shows the record as it is now, and what the user sent
            # differs from it in these fields (theirs, or the other person's).
            differs = [str(form.fields[name].label or name) for name in form.changed_data if name not in FORM_ONLY]
            patient = Patient.objects.select_related("unit").get(pk=patient.pk)
            form = PatientForm(instance=patient, organisation=patient.organisation, units=None)
            context["conflict"] = (
                "Someone changed this record after you opened it, and nothing of yours was saved. The form now "
                "shows the record as it is"
                + (f"; what you sent differs from it in: {', '.join(differs)}" if differs else "")
                + ". Make your change again."
            )
        else:
            if kept_earlier:
                messages.warning(request, kept_earlier)
            messages.success(request, "The record is updated.")
            return redirect("patient_detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, **context})


@transaction.atomic
def _save_edit(request, form) -> str:
    """Save the edited record, its weight as a weighing; what to tell the user when the weight
    typed was kept as an earlier weighing ("" otherwise)."""
    # Locked, so that no other save comes between this look and the update.
    stored = Patient.objects.select_for_update(no_key=True).get(pk=form.instance.pk)
    if (loaded := form.cleaned_data.get("loaded")) and loaded != record_version(stored):
        raise RecordChanged
    changed = set(form.changed_data) - FORM_ONLY
    patient = form.save(commit=False)
    typed = (patient.weight_kg, patient.weight_measured_on)
    # The record's weight is its newest weighing's, which weighing_record writes: the checklists'
    # conditions read the record and the bag checks the newest weighing, so the form never writes
    # the weight itself (one typed for an earlier day would stand beside a newer weighing).
    patient.weight_kg, patient.weight_measured_on = form.initial["weight_kg"], form.initial["weight_measured_on"]
    patient.save(update_fields=sorted(changed - WEIGHT_FIELDS))
    if not WEIGHT_FIELDS & changed:
        if FACT_FIELDS & changed:
            patient_facts_changed(patient)
        return ""
    if _record_weighing(
        request, patient, *typed, confirmed=form.weight_is_confirmed
    ):  # the newest: it asked the conditions again
        return ""
    if (FACT_FIELDS - WEIGHT_FIELDS) & changed:
        patient_facts_changed(patient)
    newest = latest_weighing(patient)
    newest_on = moments.day(newest.measured_at, patient.unit.zone)
    return (
        f"{weight_shown(typed[0])} on {moments.day(typed[1])} is kept as an earlier weighing: the newest, "
        f"{weight_shown(newest.weight_kg)} on {newest_on}, stays the patient's weight."
    )


def _record_weighing(request, patient, weight_kg, measured_on: dt.date, *, confirmed: bool = False) -> bool:
    """A weight typed on the record is a weighing too, so that the bag checks see it; whether it
    became the record's weight (the newest weighing)."""
    zone = patient.unit.zone
    now = timezone.localtime(timezone.now(), zone)
    measured_at = now if measured_on == now.date() else dt.datetime.combine(measured_on, dt.time(12, 0), tzinfo=zone)
    weighing = weighing_record(
        patient=patient,
        weight_kg=weight_kg,
        actor=request.user,
        measured_at=measured_at,
        source="Patient record",
        confirmed=confirmed,
    )
    return latest_weighing(patient) == weighing
