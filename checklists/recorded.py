"""Answers that the record keeps or checks, found by the item's `records` key (never its text).

- a weight becomes the patient's current weight (a weighing, with who and when); one far from the
  weighing before it is asked about first, as an answer failing a hard stop is (the typo guard);
- a pump rate must match the rate on the record of the bag hung at that event;
- a premedication time must fall in the window that the course's regimen gives;
- a CRS and ICANS assessment task is done by recording the assessment (patients/services/toxicity.py),
  never by a tick;
- a bag duration (the pharmacist's "Bag duration and preservative on the pharmacy label") must be
  the duration of the bag recorded for that event, as the pump rate must be its rate: a 7-day
  bag's answer beside a 24-hour bag's record was a check that checked nothing;
- "the bag for this event is prepared" is done only once the bag is recorded for the event (the
  record that the pump rate is checked against): ticked without one, the gate showed the
  pharmacy's part done while the pump rate could not be entered, and nobody knew why the event
  never got ready. No bag record is ever removed (a remade bag replaces it), so a tick stays true.
A refusal names the answer's field; a mismatch fails the task's hard stop.
"""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.fields import LocalDateTimeField, reading_text
from patients.models import Assessment
from patients.selectors import premedication_for_event
from patients.services import bag_for_event, parse_weight, weighing_record, weight_change_question
from patients.services.toxicity import CLOCK_SKEW

from .models import ASSESSMENT_ANSWER, PREMEDICATION_STORED, Task, TemplateItem, bag_duration_hours

Records = TemplateItem.Records


# Every form's date and time, read the same way here: the browser's datetime-local value or
# "2026-12-02 08:15" on the unit's clock (an offset, as an API client may send, is kept), in the
# years 2000–2099 (year 1 at +14:00 passes Python's reader, then fails converting to UTC), never a
# date alone read as midnight.
DATETIME_ANSWER = LocalDateTimeField()


def parse_datetime_answer(task: Task, raw: str) -> dt.datetime:
    """A date and time typed in the unit's calendar; refused at the value's field otherwise."""
    with timezone.override(task.patient.unit.zone):
        try:
            return DATETIME_ANSWER.clean(raw)
        except ValidationError as error:
            raise ValidationError({"value": error.messages}) from None


def _plain(number: Decimal) -> str:
    return f"{number.normalize():f}"


def check_recorded_answer(task: Task, value: str, *, now: dt.datetime) -> tuple[str, bool]:
    """(the value to store, whether it fails the hard stop) for an answer the record checks.

    Called before the task is saved and inside its transaction: a refusal leaves nothing behind.
    """
    if task.records == Records.WEIGHT:
        _weight_answered(value)  # refused at the field before anything is saved: never rounded
        return value, False
    if task.records == Records.PUMP_RATE:
        bag = bag_for_event(task.event_id)
        if bag is None:
            raise ValidationError(
                {"value": "No bag is recorded for this event yet: the pharmacist records it, then its rate is checked."}
            )
        rate = Decimal(value.split()[0])
        if rate != bag.rate_ml_per_hour:
            return f"{value} (the bag's label says {_plain(bag.rate_ml_per_hour)} mL/h)", task.hard_stop
        return value, False
    if task.records == Records.BAG_DURATION:
        bag = bag_for_event(task.event_id)
        if bag is None:
            raise ValidationError(
                {
                    "value": "No bag is recorded for this event yet: the pharmacist records it (the event's page, "
                    "Bag, “Record the bag prepared”), then the duration on its label is checked against it."
                }
            )
        if bag_duration_hours(value) != bag.duration_hours:
            return f"{value} (the bag recorded is a {bag.duration_hours} h bag)", task.hard_stop
        return value, False
    if task.records == Records.BAG_PREPARED:
        if bag_for_event(task.event_id) is None:
            raise ValidationError(
                {
                    "value": f"Record the bag for this {task.event.get_kind_display().lower()} first: on the "
                    "event's page, under Bag, “Record the bag prepared”; then tick this task."
                }
            )
        return value, False
    if task.records == Records.TOXICITY_ASSESSMENT:
        return _assessment_answer(task, value, now=now), False
    if task.records == Records.PREMEDICATION_TIME:
        given_at = parse_datetime_answer(task, value)
        if given_at > now + dt.timedelta(minutes=5):
            raise ValidationError({"value": "Record the time once it has been given; it cannot be in the future."})
        local = timezone.localtime(given_at, task.patient.unit.zone)
        stored = local.strftime(PREMEDICATION_STORED) + reading_text(local)  # which 01:30, on the night they repeat
        rule = premedication_for_event(task.event)
        if rule is None:
            return stored, False
        start = task.event.actual_at or task.event.planned_at
        before = start - given_at
        in_window = (
            dt.timedelta(minutes=rule.window_min_minutes) <= before <= dt.timedelta(minutes=rule.window_max_minutes)
        )
        if not in_window:
            minutes = int(before.total_seconds() // 60)
            said = f"{minutes} min before the start" if minutes >= 0 else f"{-minutes} min after the start"
            return f"{stored} ({said}; the window is {rule.window_text})", task.hard_stop
        return stored, False
    return value, False


def assessment_answer(assessment) -> str:
    """The answer that a recorded assessment gives its task: a reference, read back on the page."""
    return (
        f"{ASSESSMENT_ANSWER}{assessment.pk} (CRS grade {assessment.crs_grade}, ICANS grade {assessment.icans_grade})"
    )


# An assessment answers the assessment tasks of the event it was recorded for, and those due this
# close to when it was made (half the in-hospital interval): coordination.watch completes them so.
ASSESSMENT_TASK_WINDOW = dt.timedelta(hours=2)


def assessment_answers_task(assessment: Assessment, task: Task, *, now: dt.datetime) -> bool:
    """Whether this assessment is the one the task asks for: the patient's, made for the task's
    event or around its due time, and not later than now (with the clock skew that recording an
    assessment allows). Last month's assessment says nothing of today's check."""
    return (
        assessment.patient_id == task.patient_id
        and assessment.assessed_at <= now + CLOCK_SKEW
        and (
            assessment.event_id == task.event_id or abs(assessment.assessed_at - task.due_at) <= ASSESSMENT_TASK_WINDOW
        )
    )


def _assessment_answer(task: Task, value: str, *, now: dt.datetime) -> str:
    """Only a recorded assessment of this patient that answers this task completes it: never a tick."""
    pk = value.removeprefix(ASSESSMENT_ANSWER).split(" ")[0] if value.startswith(ASSESSMENT_ANSWER) else ""
    assessment = (
        Assessment.objects.filter(pk=int(pk), patient_id=task.patient_id).first()
        if pk.isascii() and pk.isdecimal()
        else None
    )
    if assessment is None:
        raise ValidationError(
            {"value": "Record the assessment (vital signs and the ICE score): saving it completes this task."}
        )
    if not assessment_answers_task(assessment, task, now=now):
        hours = int(ASSESSMENT_TASK_WINDOW.total_seconds() // 3600)
        raise ValidationError(
            {
                "value": "That assessment does not answer this check: record the assessment for this event, "
                f"or within {hours} hours of its due time."
            }
        )
    return value


def _weight_answered(value: str) -> Decimal:
    """The weight a task's answer ("5.36 kg") gives, by the record's one rule (parse_weight: to
    10 g, never rounded), its refusal at the answer's field."""
    try:
        return parse_weight(value.split()[0])
    except ValidationError as error:
        raise ValidationError({"value": error.message_dict["weight_kg"]}) from None


def recorded_answer_question(task: Task, value: str, *, now: dt.datetime) -> str:
    """What to ask before an answer the record keeps is taken ("" when nothing): a weight far from
    the weighing before it (patients.services.weight_change_question)."""
    if task.records == Records.WEIGHT:
        return weight_change_question(task.patient, _weight_answered(value), now)
    return ""


def keep_recorded_answer(task: Task, *, actor, now: dt.datetime) -> None:
    """After a completion: what the answer adds to the patient's record. A weight's question was
    asked before (recorded_answer_question), under the patient's lock that task_complete holds."""
    if task.records == Records.WEIGHT:
        try:
            weighing_record(
                patient=task.patient,
                weight_kg=_weight_answered(task.value),
                actor=actor,
                measured_at=now,
                source=f"{task.text} (task {task.pk})",
                confirmed=True,
            )
        except ValidationError as error:
            raise ValidationError({"value": error.messages}) from None
