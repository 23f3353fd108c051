from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from accounts.audit import audit_record
from accounts.models import AuditEvent, Unit
from accounts.permissions import Ability, require

from .forms import PatientForm
from .selectors import get_patient_for_user, patients_for_user


def patient_list(request):
    patients = list(patients_for_user(request.user).order_by("family_name", "given_name"))
    # A list shows names and MRNs: one row names every patient on it.
    shown = {"patients": [patient.pk for patient in patients]}
    audit_record(action=AuditEvent.Action.VIEW, object_type="patients.list", detail=shown)
    return render(request, "patients/patient_list.html", {"patients": patients})


def _units_for(user):
    if user.unit_id is None:
        return Unit.objects.none()
    return Unit.objects.filter(organisation_id=user.unit.organisation_id)


def patient_create(request):
    # Registering a patient is the unit coordinator's job; the new patient joins their unit.
    require(request.user, Ability.REGISTER_PATIENT)
    if request.user.unit_id is None:
        raise PermissionDenied("A patient joins your unit: ask an administrator to set yours.")
    form = PatientForm(
        request.POST or None,
        organisation=request.user.unit.organisation,
        units=_units_for(request.user),
        initial={"unit": request.user.unit_id},
    )
    if request.method == "POST" and form.is_valid():
        patient = form.save()
        messages.success(request, f"{patient.full_name} is registered.")
        return redirect("patient_detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "title": "Register a patient"})


def patient_edit(request, pk):
    patient = get_patient_for_user(request.user, pk, write=True)
    form = PatientForm(
        request.POST or None, instance=patient, organisation=patient.organisation, units=_units_for(request.user)
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "The record is updated.")
        return redirect("patient_detail", pk=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "title": f"Edit {patient.full_name}"})
