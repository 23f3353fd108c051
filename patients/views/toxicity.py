"""The toxicity watch's pages: record a CRS and ICANS assessment, see a patient's assessments
with their trend, and (the oncologist) confirm or change a computed grade.

Thin, like the course pages: the policy decides what is offered, the form validates, one service
acts and its refusals land at their fields.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from accounts import moments
from accounts.audit import logs_read, shows

from .. import policy, services
from ..forms import AssessmentForm, CheckInForm, GradeConfirmForm
from ..grading import FEVER_CELSIUS, ICE_FROM_AGE_YEARS
from ..models import Assessment, CareEvent
from ..selectors import assessments_for, check_ins_for, get_patient_for_user, pump_events_for
from ..trends import toxicity_charts
from .forms_flow import form_page, now_on_unit_clock

# What the grading reads, in its own numbers (patients.grading; CLINICAL.md: "CRS by fever, blood
# pressure (vasopressors) and oxygen need"): a fever alone is grade 1, so the page must not say
# that CRS needs low blood pressure or an oxygen need, nor write the thresholds a second time.
ASSESSMENT_INTRO = (
    f"Graded on saving by the ASTCT consensus (CRS: a fever of {FEVER_CELSIUS} °C or more, or one masked by "
    "antipyretics or anti-cytokine treatment, graded by blood pressure (vasopressors) and oxygen need: a fever "
    f"alone is grade 1; ICANS: the ICE score or, under {ICE_FROM_AGE_YEARS}, the CAPD, with consciousness, "
    "seizures, motor findings and raised pressure). The oncologist confirms the grade."
)


@logs_read("patients.patient", page="assessment")
def assessment_new(request, pk):
    patient = get_patient_for_user(request.user, pk)
    policy.can_record_assessment(request.user, patient).enforce()
    zone = patient.unit.zone
    form = AssessmentForm(
        request.POST or None,
        zone_name=patient.unit.clock_label,
        age_on=patient.age_on,
        today=timezone.localdate(timezone=zone),
        initial={
            "assessed_at": now_on_unit_clock(zone),
            "temperature_unit": Assessment.TemperatureUnit.CELSIUS,
        },
    )

    def act(data):
        try:
            done = services.assessment_record(
                patient=patient,
                actor=request.user,
                assessed_at=data["assessed_at"],
                findings=form.findings(),
                event=_event_of(request, patient),
                low_systolic_confirmed=form.low_systolic_confirmed,
            )
        except ValidationError as refusal:
            # A systolic low for the age with hypotension unticked: the question at `hypotension`
            # (form_page puts it there), and the tick that confirms it.
            asked = getattr(refusal, "error_dict", {}).get("hypotension", [])
            if any(error.code == services.UNCONFIRMED_LOW_SYSTOLIC for error in asked):
                form.ask_about_systolic()
            raise
        graded = f"CRS grade {done.crs_grade}, ICANS grade {done.icans_grade}"
        if done.alerted:  # the unit's rule decides from which CRS grade (coordination.watch)
            messages.error(request, f"Recorded: {graded}. The oncologist on call and the coordinator are alerted.")
        else:
            messages.success(request, f"Recorded: {graded}.")
        return redirect("patients:assessments", pk=patient.pk)

    return form_page(
        request,
        form,
        act,
        patient=patient,
        title="Assess for CRS and ICANS",
        intro=ASSESSMENT_INTRO,
    )


def _event_of(request, patient) -> CareEvent | None:
    """The event whose assessment task sent the nurse here (?event=), if it is this patient's."""
    pk = request.GET.get("event", "")
    return CareEvent.objects.filter(pk=int(pk), patient=patient).first() if pk.isdecimal() else None


@logs_read("patients.patient", page="check_in")
def check_in_new(request, pk):
    patient = get_patient_for_user(request.user, pk)
    policy.can_record_assessment(request.user, patient).enforce()
    zone = patient.unit.zone
    form = CheckInForm(
        request.POST or None,
        zone_name=patient.unit.clock_label,
        initial={"checked_at": now_on_unit_clock(zone), "temperature_unit": "C", "pump_status": "running"},
    )

    def act(data):
        done = services.check_in_record(patient=patient, actor=request.user, **data)
        if done.red_flags:
            messages.error(request, f"Red flags: {', '.join(done.red_flags)}. The oncologist on call is alerted.")
        else:
            messages.success(request, "The check is recorded: no red flag.")
        return redirect("patients:assessments", pk=patient.pk)

    return form_page(request, form, act, patient=patient, title="Daily home check")


@logs_read("patients.assessments")
def assessment_list(request, pk):
    patient = get_patient_for_user(request.user, pk)
    assessments = assessments_for(patient)
    can_confirm = policy.can_confirm_grades(request.user, patient)
    for assessment in assessments:
        if can_confirm and not assessment.is_confirmed:
            initial = {"crs_grade": assessment.crs_grade, "icans_grade": assessment.icans_grade}
            assessment.confirm_form = GradeConfirmForm(initial=initial, prefix=f"a{assessment.pk}")
    shows(request, patient_id=patient.pk)
    with timezone.override(patient.unit.zone):
        return render(
            request,
            "patients/assessments.html",
            {
                "patient": patient,
                "assessments": assessments,
                "charts": toxicity_charts(assessments),
                "check_ins": check_ins_for(patient),
                "pump_events": pump_events_for(patient),
                "can_record": policy.can_record_assessment(request.user, patient),
                "can_confirm": can_confirm,
            },
        )


@logs_read("patients.assessment")
def assessment_confirm(request, pk):
    assessment = get_object_or_404(Assessment.objects.select_related("patient"), pk=pk)
    patient = get_patient_for_user(request.user, assessment.patient_id)
    policy.can_confirm_grades(request.user, patient).enforce()
    initial = {"crs_grade": assessment.crs, "icans_grade": assessment.icans}
    form = GradeConfirmForm(request.POST or None, initial=initial, prefix=f"a{assessment.pk}")

    def act(data):
        services.assessment_confirm(assessment=assessment, actor=request.user, **data)
        messages.success(request, f"Grades confirmed: CRS {data['crs_grade']}, ICANS {data['icans_grade']}.")
        return redirect("patients:assessments", pk=patient.pk)

    assessed = moments.moment_short(assessment.assessed_at, patient.unit.zone)
    return form_page(
        request,
        form,
        act,
        patient=patient,
        title=f"Confirm the grades of the assessment of {assessed}",
        intro=f"Computed: CRS {assessment.crs_rule}; ICANS {assessment.icans_rule}.",
    )
