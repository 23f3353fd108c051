from django.shortcuts import render
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent
from checklists.selectors import patient_history
from patients.selectors import get_patient_for_user

from ..selectors import annotate_event, patient_page


def patient_detail(request, pk):
    patient = patient_page(get_patient_for_user(request.user, pk))
    audit_record(action=AuditEvent.Action.VIEW, object_type="patients.patient", object_id=pk, patient_id=pk)
    for course in patient.courses.all():
        for cycle in course.cycles.all():
            for event in cycle.events.all():
                annotate_event(event)
    context = {"patient": patient, "history": patient_history(patient), "now": timezone.now()}
    return render(request, "coordination/patient_detail.html", context)
