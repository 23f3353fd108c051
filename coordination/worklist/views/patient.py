from django.shortcuts import render
from django.utils import timezone

from accounts.audit import logs_read, shows
from checklists.selectors import patient_history
from patients.models import CareEvent
from patients.policy import can_manage_care_team, plan_actions
from patients.selectors import get_patient_for_user, sees_only_through_grant

from ...handoffs.policy import can_prepare
from ...handoffs.selectors import patient_handoffs
from ...watch.selectors import patient_watch
from ..selectors import annotate_event, patient_page


@logs_read("patients.patient")
def patient_detail(request, pk):
    patient = get_patient_for_user(request.user, pk)
    shows(request, patient_id=patient.pk)
    if sees_only_through_grant(request.user, patient):
        # A handoff's receiving unit sees what the handoff needs, not the whole record.
        context = {
            "patient": patient,
            "care_team": patient.care_team.select_related("user"),
            "handoffs": patient_handoffs(request.user, patient),
            "watch": patient_watch(request.user, patient),
            "now": timezone.now(),
        }
        return render(request, "coordination/handoffs/patient.html", context)
    patient = patient_page(patient)
    for course in patient.courses.all():
        for cycle in course.cycles.all():
            # Cancelled events (a stop, a changed plan) are listed apart from the plan.
            cycle.cancelled_events = [e for e in cycle.events.all() if e.status == CareEvent.Status.CANCELLED]
            for event in cycle.events.all():
                annotate_event(event)
    context = {
        "patient": patient,
        "history": patient_history(patient),
        "now": timezone.now(),
        "handoffs": patient_handoffs(request.user, patient),
        "can_prepare_handoff": can_prepare(request.user, patient),
        "plan": plan_actions(request.user, patient),
        "can_manage_care_team": bool(can_manage_care_team(request.user, patient)),
        "watch": patient_watch(request.user, patient),
    }
    return render(request, "coordination/worklist/patient_detail.html", context)
