import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.audit import logs_read, shows
from accounts.db import constraint_of
from accounts.models import Unit
from accounts.permissions import require

from ..forms import DUPLICATE_MRN, PatientForm
from ..models.record import MRN_UNIQUE
from ..policy import REGISTER_PATIENT
from ..selectors import get_patient_for_user, patients_for_user
from ..services import FACT_FIELDS, patient_facts_changed, weighing_record
from ..services.team import CLINICAL_UNITS


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
                _record_weighing(request, patient)
        except IntegrityError as error:
            # Another registration of this MRN committed between the form's look and this insert.
            if constraint_of(error) != MRN_UNIQUE:
                raise
            form.add_error("mrn", DUPLICATE_MRN)
        else:
            messages.success(request, f"{patient.full_name} is registered.")
            return redirect("patient_detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "title": "Register a patient"})


@logs_read("patients.patient", page="edit")
def patient_edit(request, pk):
    patient = get_patient_for_user(request.user, pk, write=True)
    shows(request, patient_id=patient.pk)
    form = PatientForm(request.POST or None, instance=patient, organisation=patient.organisation, units=None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            if {"weight_kg", "weight_measured_on"} & set(form.changed_data):
                _record_weighing(request, patient)  # which asks the checklists' conditions again
            elif FACT_FIELDS & set(form.changed_data):
                patient_facts_changed(patient)
        messages.success(request, "The record is updated.")
        return redirect("patient_detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "title": f"Edit {patient.full_name}"})


def _record_weighing(request, patient) -> None:
    """A weight typed on the record is a weighing too, so that the bag checks see it."""
    zone = patient.unit.zone
    now = timezone.localtime(timezone.now(), zone)
    measured_at = (
        now
        if patient.weight_measured_on == now.date()
        else (dt.datetime.combine(patient.weight_measured_on, dt.time(12, 0), tzinfo=zone))
    )
    weighing_record(
        patient=patient,
        weight_kg=patient.weight_kg,
        actor=request.user,
        measured_at=measured_at,
        source="Patient record",
    )
