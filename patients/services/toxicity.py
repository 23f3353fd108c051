"""CRS and ICANS assessments: record one (graded by the ASTCT consensus), confirm its grades.

Both call the assessment hook inside their transaction, so that what a grade sets off (an urgent
alert, coordination's) is stored with the assessment or not at all.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .. import grading, policy
from ..grading import ICE_FROM_AGE_YEARS
from ..hooks import notify_watch, watch_alerted
from ..models import Assessment, CareEvent, Patient
from ..models.toxicity import ICE_PARTS
from ..selectors import current_course
from ..vitals import temperature_errors, to_celsius
from .repeats import repeat_of

CLOCK_SKEW = dt.timedelta(minutes=5)


def _screen_errors(assessment: Assessment) -> dict[str, str]:
    parts = [getattr(assessment, name) for name in ICE_PARTS]
    errors = {}
    if assessment.uses_capd:
        if any(part is not None for part in parts):
            errors["ice_orientation"] = (
                f"Children under {ICE_FROM_AGE_YEARS} are screened with the CAPD, not the ICE score."
            )
        if assessment.capd_score is None and not assessment.ice_unable:
            errors["capd_score"] = "Give the CAPD score, or tick that the child cannot be screened."
        return errors
    if assessment.capd_score is not None:
        errors["capd_score"] = f"The CAPD is for children under {ICE_FROM_AGE_YEARS}; score the ICE instead."
    if assessment.ice_unable:
        return errors
    if all(part is None for part in parts):
        errors["ice_orientation"] = "Score the five parts of the ICE, or tick that the patient cannot be screened."
    elif any(part is None for part in parts):
        missing = [
            Assessment._meta.get_field(name).verbose_name
            for name, part in zip(ICE_PARTS, parts, strict=True)
            if part is None
        ]
        errors["ice_orientation"] = f"Score every part of the ICE; missing: {', '.join(missing)}."
    return errors


# The code of the refusal that asks about a low systolic with the hypotension box unticked (the typo
# guard's shape: the form offers to confirm it, and a confirmed answer stands).
UNCONFIRMED_LOW_SYSTOLIC = "unconfirmed_low_systolic"


def low_systolic_question(assessment: Assessment, age_years: int) -> str:
    """The question a systolic below the hypotension threshold for the age asks when hypotension is
    not ticked ("" when none): the CRS grade would rest on the box, so a slip there is a grade too low
    (39.2 °C at 70/40 mmHg graded 1). Asked only where the box decides the grade: with a fever, seen
    or masked, and no vasopressor (which grades the pressure itself)."""
    systolic = assessment.systolic_bp
    if systolic is None or assessment.hypotension or assessment.vasopressors != grading.Vasopressors.NONE:
        return ""
    fever = assessment.temperature_celsius is not None and assessment.temperature_celsius >= grading.FEVER_CELSIUS
    threshold = grading.low_systolic_below(age_years)
    if systolic >= threshold or not (fever or assessment.fever_masked):
        return ""
    return (
        f"Systolic {systolic} mmHg is below {threshold}: tick hypotension, or confirm it is not low for this patient."
    )


# How long after an assessment it may still be recorded (a late entry).
LATE_ENTRY = dt.timedelta(hours=72)


def _other_errors(assessment: Assessment, now: dt.datetime) -> dict[str, str]:
    errors = {}
    if assessment.assessed_at > now + CLOCK_SKEW:
        errors["assessed_at"] = "An assessment cannot be in the future."
    elif assessment.assessed_at < now - LATE_ENTRY:
        # A late entry (the night's checks charted after a downtime) is taken; older is a mistyped
        # date, which would put the findings in the wrong place in the trend, or alert on old news.
        hours = int(LATE_ENTRY.total_seconds() // 3600)
        errors["assessed_at"] = f"An assessment is recorded within {hours} hours of being made: check the date."
    if (
        assessment.systolic_bp is not None
        and assessment.diastolic_bp is not None
        and assessment.diastolic_bp >= assessment.systolic_bp
    ):
        errors["diastolic_bp"] = "The diastolic pressure must be lower than the systolic."
    if assessment.temperature is None:
        # CRS is graded from fever: without a temperature "grade 0, no fever" is a false all-clear.
        errors["temperature"] = "Give the temperature: CRS cannot be graded without it."
    if assessment.oxygen_flow_l_min is not None and assessment.oxygen_flow_l_min <= 0:
        errors["oxygen_flow_l_min"] = "An oxygen flow is above 0 L/min; leave it empty on room air."
    elif assessment.oxygen_flow_l_min and assessment.oxygen_device == "none":
        errors["oxygen_device"] = "Oxygen is flowing: say through which device."
    elif assessment.oxygen_flow_l_min is None and assessment.oxygen_device in grading.GRADED_BY_FLOW:
        device = grading.OxygenDevice(assessment.oxygen_device).label.lower()
        errors["oxygen_flow_l_min"] = (
            f"Give the flow: at more than {grading.LOW_FLOW_MAX_L_MIN} L/min a {device} is grade 3."
        )
    return errors


@transaction.atomic
def assessment_record(
    *,
    patient: Patient,
    actor,
    assessed_at: dt.datetime,
    findings: dict,
    event: CareEvent | None = None,
    low_systolic_confirmed: bool = False,
    now: dt.datetime | None = None,
) -> Assessment:
    """Record what the nurse saw and grade it. `findings` maps the model's fields to values (a
    form's cleaned data). Refuses with ValidationError({field: message}), storing nothing; a systolic
    low for the age with hypotension unticked is asked about at `hypotension` unless
    `low_systolic_confirmed` (the user saw the question and said it is not low for this patient).
    The same nurse's identical assessment sent again within the minute (a double click) is the
    first, returned as it was recorded: no second assessment, and no second page to the oncologist."""
    policy.can_record_assessment(actor, patient).enforce()
    now = now or timezone.now()
    # The patient's row, so that the same assessment sent twice at once takes turns and the second
    # finds the first (repeat_of); the order of the other paths: the patient, the event, its tasks.
    Patient.objects.select_for_update(no_key=True).only("pk").get(pk=patient.pk)
    if event is not None and event.patient_id != patient.pk:
        raise ValidationError({"event": "That event is another patient's."})
    assessment = Assessment(
        patient=patient,
        course=current_course(patient),
        event=event,
        assessed_at=assessed_at,
        recorded_by=actor,
        recorded_at=now,
        **findings,
    )
    zone = patient.unit.zone
    # By the age on the day assessed, on the unit's clock (the form's rule too): a back-dated
    # assessment of a child who has since turned 12 is still a CAPD.
    age = patient.age_on(timezone.localtime(assessed_at, zone).date())
    assessment.uses_capd = grading.screened_with_capd(age)
    errors = {
        **temperature_errors(assessment.temperature, assessment.temperature_unit),
        **_screen_errors(assessment),
        **_other_errors(assessment, now),
    }
    if assessment.temperature is not None and "temperature" not in errors and "temperature_unit" not in errors:
        assessment.temperature_celsius = to_celsius(assessment.temperature, assessment.temperature_unit)
    low_systolic = low_systolic_question(assessment, age)
    if low_systolic and not low_systolic_confirmed:
        errors["hypotension"] = ValidationError(low_systolic, code=UNCONFIRMED_LOW_SYSTOLIC)
    if errors:
        raise ValidationError(errors)
    crs, icans = grading.crs_grade(assessment), grading.icans_grade(assessment)
    crs_rule = str(crs)
    if low_systolic:  # confirmed: the oncologist who confirms the grade sees that it was asked
        crs_rule += f"; systolic {assessment.systolic_bp} mmHg confirmed not low for this patient"
    assessment.crs_grade, assessment.crs_rule = crs.grade, crs_rule[:200]
    assessment.icans_grade, assessment.icans_rule = icans.grade, str(icans)[:200]
    assessment.full_clean(exclude=["recorded_by", "patient", "course", "event"])
    if first := repeat_of(assessment, entered=["event", "assessed_at", *findings], now=now):
        first.alerted = watch_alerted(assessment=first)  # as the first's page said
        return first
    assessment.save()
    # Not a column: whether the watch alerted the oncologist on call (the unit's rule decides), for
    # the page to say so truthfully.
    assessment.alerted = notify_watch(patient=assessment.patient, assessment=assessment, actor=actor)
    return assessment


@transaction.atomic
def assessment_confirm(
    *,
    assessment: Assessment,
    actor,
    crs_grade: int,
    icans_grade: int,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Assessment:
    """The oncologist's grades: the computed ones confirmed, or changed with a reason."""
    assessment = Assessment.objects.select_for_update(no_key=True).select_related("patient").get(pk=assessment.pk)
    policy.can_confirm_grades(actor, assessment.patient).enforce()
    for field, grade in (("crs_grade", crs_grade), ("icans_grade", icans_grade)):
        if grade not in range(5):
            raise ValidationError({field: "A grade is from 0 (none) to 4."})
    reason = reason.strip()
    changed = (crs_grade, icans_grade) != (assessment.crs_grade, assessment.icans_grade)
    if changed and not reason:
        raise ValidationError({"reason": "Say why the grade differs from the consensus grade computed."})
    # Against the grades that counted until now (a second confirmation may repeat the first).
    moved = (crs_grade, icans_grade) != (assessment.crs, assessment.icans)
    assessment.confirmed_crs_grade = crs_grade
    assessment.confirmed_icans_grade = icans_grade
    assessment.confirm_reason = reason[:500]
    assessment.confirmed_by = actor
    assessment.confirmed_at = now or timezone.now()
    assessment.save(
        update_fields=["confirmed_crs_grade", "confirmed_icans_grade", "confirm_reason", "confirmed_by", "confirmed_at"]
    )
    if moved:  # a higher grade may set off what the one before did not; a lower one call it off
        notify_watch(patient=assessment.patient, assessment=assessment, actor=actor)
    return assessment
