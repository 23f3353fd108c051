"""The care team and transfers: the unit coordinator's pages (patients/services/team.py)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect

from accounts.audit import logs_read

from .. import policy, services
from ..forms import CareTeamAddForm, TransferForm
from ..selectors import get_patient_for_user
from .forms_flow import form_page


@logs_read("patients.patient", page="care_team")
def care_team(request, pk):
    """Who is on the care team: add one (the form), or remove one (a button per member)."""
    patient = get_patient_for_user(request.user, pk)
    policy.can_manage_care_team(request.user, patient).enforce()
    if request.method == "POST" and "remove" in request.POST:
        return _remove(request, patient)
    form = CareTeamAddForm(request.POST or None, patient=patient)

    def act(data):
        member = services.care_team_add(patient=patient, user=data["user"], actor=request.user)
        messages.success(request, f"{member.user.get_full_name() or member.user.username} joins the care team.")
        return redirect("patients:care_team", pk=patient.pk)

    members = patient.care_team.select_related("user__unit")
    transfers = patient.transfers.select_related("from_unit", "to_unit", "by")
    return form_page(
        request,
        form,
        act,
        patient=patient,
        title="Care team",
        template="patients/care_team.html",
        members=members,
        transfers=transfers,
    )


def _remove(request, patient):
    member_id = request.POST["remove"]
    member = patient.care_team.select_related("user").filter(pk=member_id).first() if member_id.isdecimal() else None
    if member is None:
        raise Http404("No such member of this care team.")
    services.care_team_remove(member=member, actor=request.user)
    messages.success(request, f"{member.user.get_full_name() or member.user.username} leaves the care team.")
    return redirect("patients:care_team", pk=patient.pk)


@logs_read("patients.patient", page="transfer")
def patient_transfer(request, pk):
    patient = get_patient_for_user(request.user, pk)
    policy.can_manage_care_team(request.user, patient).enforce()
    form = TransferForm(request.POST or None, patient=patient)

    def act(data):
        transfer = services.patient_transfer(patient=patient, actor=request.user, **data)
        messages.success(
            request, f"{patient.full_name} ({patient.mrn}) is now on {transfer.to_unit}; its coordinator is told."
        )
        # Back to the list: the record may have left what this coordinator sees (their unit's).
        return redirect("patients:list")

    intro = "A transfer moves the record to another ward or clinic of this hospital, whose coordinator takes it over."
    return form_page(request, form, act, patient=patient, title="Transfer to another unit", intro=intro)
