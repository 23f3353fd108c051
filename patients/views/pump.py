"""Record a pump or line event (patients/services/pump.py); thin like the other plan pages."""

from django.contrib import messages
from django.shortcuts import redirect

from accounts.audit import logs_read

from .. import policy, services
from ..forms import PumpEventForm
from ..selectors import current_course, get_patient_for_user
from .forms_flow import form_page, now_on_unit_clock


@logs_read("patients.patient", page="pump_event")
def pump_event_new(request, pk):
    patient = get_patient_for_user(request.user, pk)
    policy.can_record_pump_event(request.user, patient).enforce()
    zone = patient.unit.zone
    course = current_course(patient)
    form = PumpEventForm(
        request.POST or None,
        zone_name=patient.unit.clock_label,
        supervised_after_hours=course.regimen_version.supervised_restart_after_hours if course else None,
        initial={"occurred_at": now_on_unit_clock(zone)},
    )

    def act(data):
        event = services.pump_event_record(patient=patient, actor=request.user, **data)
        if event.interruption_id and event.interruption.is_open:
            messages.warning(request, "Recorded. The infusion is stopped: no bag change is due until the restart.")
        else:
            messages.success(request, "The pump event is recorded.")
        return redirect("patient_detail", pk=patient.pk)

    return form_page(request, form, act, patient=patient, title="Record a pump or line event")
