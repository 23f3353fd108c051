"""Answers that the record keeps or checks (checklists/recorded.py), through task_complete.

- a weight becomes the patient's weight, with a weighing naming who and when;
- a pump rate is checked against the bag recorded for the event (its label's rate);
- a premedication time is checked against the regimen's window (30–90 minutes before the start);
- "the bag for this event is prepared" is done only once the bag is recorded for the event.
"""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Role
from checklists.models import Task, TaskActivity, TemplateItem
from checklists.recorded import assessment_answer
from checklists.services import UNCONFIRMED_HARD_STOP, checklists_instantiate, task_complete
from patients.models import Assessment, BagOption, CareEvent, InfusionBag, Weighing
from patients.services import course_schedule_build, infusion_bag_record

from ..factories import CourseFactory, PatientFactory, UserFactory
from .helpers import make_event, publish_template

NY = zoneinfo.ZoneInfo("America/New_York")
START = dt.date(2026, 3, 2)  # cycle 1 starts on 2 March 2026 at 09:00 (EST, 14:00 UTC)
STARTS_AT = dt.datetime(2026, 3, 2, 9, tzinfo=NY)
Records = TemplateItem.Records

WEIGHT = "Weight (kg)"
PUMP_RATE = "Pump rate matches the label (mL/h)"
PREMEDICATION = "Premedication given at"
BAG_PREPARED = "Next bag compounded, labelled, recorded for this change and dispatched"
BAG_DURATION = "Bag duration and preservative on the pharmacy label"
DURATIONS = [
    "24 h (10 mL/h)",
    "48 h (5 mL/h)",
    "72 h (1.8 mL/h, benzyl alcohol)",
    "96 h (1.8 mL/h, benzyl alcohol)",
    "7 days (0.6 mL/h, benzyl alcohol)",
]

ITEMS = {
    CareEvent.Kind.CYCLE_START: [
        {
            "text": WEIGHT,
            "response_kind": "number",
            "unit": "kg",
            "records": Records.WEIGHT,
            "due_offset_minutes": -180,
        },
        {"text": PREMEDICATION, "response_kind": "datetime", "records": Records.PREMEDICATION_TIME, "hard_stop": True},
    ],
    CareEvent.Kind.BAG_CHANGE: [
        {
            "text": PUMP_RATE,
            "response_kind": "number",
            "unit": "mL/h",
            "min_value": "0.1",
            "max_value": "50",
            "records": Records.PUMP_RATE,
            "hard_stop": True,
        },
        {"text": BAG_PREPARED, "role": Role.PHARMACIST, "records": "bag_prepared", "due_offset_minutes": -1440},
        {
            "text": BAG_DURATION,
            "role": Role.PHARMACIST,
            "response_kind": "choice",
            "choices": DURATIONS,
            "records": "bag_duration",
            "hard_stop": True,
            "due_offset_minutes": -120,
        },
    ],
}


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(STARTS_AT - dt.timedelta(days=3), tick=False)
    return time_machine


@pytest.fixture
def course(patient, clock):
    """A relapsed/refractory course whose events got their checklists when the schedule was built."""
    for kind, items in ITEMS.items():
        publish_template(name=f"{kind} checks", trigger_kind=kind, items=items)
    course = CourseFactory(patient=patient, start_date=START, planned_cycles=1)
    course_schedule_build(course=course, now=STARTS_AT - dt.timedelta(days=3))
    return course


def event_of(course, kind) -> CareEvent:
    return CareEvent.objects.filter(cycle__course=course, kind=kind).order_by("planned_at").first()


def task_of(course, kind, text) -> Task:
    return Task.objects.get(event=event_of(course, kind), text=text)


def complete(task, actor, value, now):
    """An answer recorded, confirmed when it fails (the confirmation's own tests: test_services.py)."""
    return task_complete(task=task, actor=actor, value=value, now=now, confirmed=True)


def assert_still_open(task):
    task.refresh_from_db()
    assert (task.status, task.value, task.completed_by_id, task.hard_stop_failed) == (Task.Status.OPEN, "", None, False)
    assert not TaskActivity.objects.filter(task=task).exists()


# --- weight ------------------------------------------------------------------------------------


def test_a_weight_answer_becomes_the_patients_weight(patient, nurse, course, clock):
    now = STARTS_AT - dt.timedelta(hours=3)
    clock.move_to(now, tick=False)
    weight = task_of(course, CareEvent.Kind.CYCLE_START, WEIGHT)
    done = complete(weight, nurse, "65.0", now)
    assert (done.status, done.value, done.hard_stop_failed) == (Task.Status.DONE, "65 kg", False)
    patient.refresh_from_db()
    assert (patient.weight_kg, patient.weight_measured_on) == (Decimal("65.0"), dt.date(2026, 3, 2))
    (weighing,) = Weighing.objects.filter(patient=patient)
    assert (weighing.weight_kg, weighing.recorded_by, weighing.measured_at) == (Decimal("65.0"), nurse, now)
    assert WEIGHT in weighing.source


@pytest.mark.parametrize("raw", ["0", "700", "-65"])
def test_an_impossible_weight_is_refused_and_nothing_changes(patient, nurse, course, clock, raw):
    now = STARTS_AT - dt.timedelta(hours=3)
    clock.move_to(now, tick=False)
    weight = task_of(course, CareEvent.Kind.CYCLE_START, WEIGHT)
    with pytest.raises(ValidationError) as refused:
        complete(weight, nurse, raw, now)
    assert "not a possible weight" in refused.value.message_dict["value"][0]
    assert_still_open(weight)
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("70.0")
    assert not Weighing.objects.exists()


def test_a_weight_far_from_the_records_is_asked_about_then_taken_when_confirmed(patient, nurse, course, clock):
    """The typo guard's shape for a weight: 7.0 typed for 70 kg is not taken at first (it would dose
    by body-surface area); the row offers to record it anyway, and the confirmed weight stands."""
    now = STARTS_AT - dt.timedelta(hours=3)
    clock.move_to(now, tick=False)
    weight = task_of(course, CareEvent.Kind.CYCLE_START, WEIGHT)
    with pytest.raises(ValidationError) as asked:
        task_complete(task=weight, actor=nurse, value="7.0", now=now)
    (question,) = asked.value.error_dict["value"]
    assert question.code == UNCONFIRMED_HARD_STOP
    day = f"{patient.weight_measured_on.day} {patient.weight_measured_on:%b}"
    assert question.message == f"70 kg on {day}; 7 kg now is a 90 % drop: confirm or correct."
    assert_still_open(weight)
    assert not Weighing.objects.exists()
    done = task_complete(task=weight, actor=nurse, value="7.0", now=now, confirmed=True)
    assert (done.status, done.value, done.hard_stop_failed) == (Task.Status.DONE, "7 kg", False)
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("7.0")


def bag_for(course, patient, pharmacist, *, hours: int, basis=InfusionBag.DoseBasis.BSA, now):
    """The bag for cycle 1's start, recorded from the weighing its weight task just made."""
    event = event_of(course, CareEvent.Kind.CYCLE_START)
    checker = UserFactory(role=Role.PHARMACIST, unit=patient.unit)
    option = BagOption.objects.get(duration_hours=hours)
    return infusion_bag_record(
        event=event,
        option=option,
        dose="5 mcg/m2/day",
        dose_basis=basis,
        volume_ml="130",
        rate_ml_per_hour=f"{option.rate_ml_per_hour.normalize():f}",
        expires_at=event.planned_at + dt.timedelta(hours=hours + 8),
        stabiliser_added=True,
        compounded_by=pharmacist,
        checked_by=checker,
        actor=pharmacist,
        now=now,
    )


@pytest.mark.parametrize(
    ("typed", "hours", "limit"),
    [("5.36", 72, "not used under 5.4 kg"), ("5.35", 96, "not used under 5.4 kg"), ("21.96", 168, "under 22 kg")],
)
def test_a_weight_to_10_g_is_kept_as_typed_and_no_preservative_bag_goes_across_its_limit(
    patient, nurse, pharmacist, course, clock, typed, hours, limit
):
    """Found by review: "5.36" (an infant scale reads to 10 g) was made 5.4 kg, the weighing and the
    record said 5.4, and the 72 h benzyl-alcohol bag, not used under 5.4 kg, was accepted."""
    now = STARTS_AT - dt.timedelta(hours=3)
    clock.move_to(now, tick=False)
    done = complete(task_of(course, CareEvent.Kind.CYCLE_START, WEIGHT), nurse, typed, now)
    assert done.value == f"{typed} kg"
    patient.refresh_from_db()
    assert patient.weight_kg == Weighing.objects.get(patient=patient).weight_kg == Decimal(typed)
    with pytest.raises(ValidationError) as refused:
        bag_for(course, patient, pharmacist, hours=hours, now=now)
    (message,) = refused.value.message_dict["option"]
    assert limit in message and f"the newest weighing is {typed} kg." in message
    assert not InfusionBag.objects.exists()


def test_a_weight_just_under_45_kg_keeps_the_dose_by_body_surface_area(patient, nurse, pharmacist, course, clock):
    """44.96 kg was made 45.0: the flat dose of the weight band was taken for a patient under 45 kg."""
    now = STARTS_AT - dt.timedelta(hours=3)
    clock.move_to(now, tick=False)
    complete(task_of(course, CareEvent.Kind.CYCLE_START, WEIGHT), nurse, "44.96", now)
    with pytest.raises(ValidationError) as refused:
        bag_for(course, patient, pharmacist, hours=24, basis=InfusionBag.DoseBasis.WEIGHT, now=now)
    (message,) = refused.value.message_dict["dose_basis"]
    assert "Under 45 kg the dose is by body-surface area" in message and "weighing is 44.96 kg" in message
    assert bag_for(course, patient, pharmacist, hours=24, now=now).dose_basis == InfusionBag.DoseBasis.BSA


@pytest.mark.parametrize("raw", ["5.365", "70.001", "44.9999"])
def test_a_weight_finer_than_10_g_is_refused_at_the_field_never_rounded(patient, nurse, course, clock, raw):
    now = STARTS_AT - dt.timedelta(hours=3)
    clock.move_to(now, tick=False)
    weight = task_of(course, CareEvent.Kind.CYCLE_START, WEIGHT)
    for confirmed in (False, True):
        with pytest.raises(ValidationError) as refused:
            task_complete(task=weight, actor=nurse, value=raw, now=now, confirmed=confirmed)
        assert refused.value.message_dict == {
            "value": ["Give the weight to 10 g at most: two decimals, as the scale shows it."]
        }
    assert_still_open(weight)
    patient.refresh_from_db()
    assert patient.weight_kg == Decimal("70") and not Weighing.objects.exists()


# --- pump rate ---------------------------------------------------------------------------------


@pytest.fixture
def bag_change(course, patient, pharmacist):
    """Cycle 1's first bag change (day 2, in hospital) and a 24-hour bag recorded for it at 10 mL/h."""
    event = event_of(course, CareEvent.Kind.BAG_CHANGE)
    checker = UserFactory(username="pharmacist2", role=Role.PHARMACIST, unit=patient.unit)
    # Weighed the day the bag is prepared: a bag is recorded only with today's weighing.
    Weighing.objects.create(
        patient=patient, weight_kg=Decimal("70"), measured_at=event.planned_at - dt.timedelta(hours=5)
    )
    return event, {
        "event": event,
        "option": BagOption.objects.get(duration_hours=24),
        "dose": "9 mcg/day",
        "dose_basis": InfusionBag.DoseBasis.WEIGHT,
        "volume_ml": "240",
        "rate_ml_per_hour": "10",
        "expires_at": event.planned_at + dt.timedelta(hours=30),
        "stabiliser_added": True,
        "compounded_by": pharmacist,
        "checked_by": checker,
        "actor": pharmacist,
        "now": event.planned_at - dt.timedelta(hours=4),
    }


@pytest.mark.parametrize(("answer", "failed"), [("10", False), ("10.0", False), ("1", True), ("5", True)])
def test_a_pump_rate_is_checked_against_the_bags_label(bag_change, nurse, answer, failed):
    event, bag = bag_change
    infusion_bag_record(**bag)
    rate = Task.objects.get(event=event, text=PUMP_RATE)
    assert (rate.records, rate.hard_stop) == (Records.PUMP_RATE, True)
    done = complete(rate, nurse, answer, event.planned_at)
    assert done.status == Task.Status.DONE
    assert done.hard_stop_failed is failed
    if failed:
        assert "the bag's label says 10 mL/h" in done.value
        assert TaskActivity.objects.get(task=done).action == TaskActivity.Action.HARD_STOP
    else:
        assert done.value == "10 mL/h"


def test_a_pump_rate_follows_the_newest_bag_of_the_event(bag_change, nurse):
    event, bag = bag_change
    infusion_bag_record(**bag)
    infusion_bag_record(**{**bag, "option": BagOption.objects.get(duration_hours=48), "rate_ml_per_hour": "5"})
    rate = Task.objects.get(event=event, text=PUMP_RATE)
    assert complete(rate, nurse, "10", event.planned_at).hard_stop_failed


def test_a_bag_remade_at_another_rate_reopens_the_pump_rate_checked_against_the_first(bag_change, nurse):
    """The nurse programmed the pump at the first bag's 10 mL/h; the pharmacy then remakes the bag
    as a 48-hour bag at 5 mL/h. The answer checked against the first bag must not stand: the pump
    would run the new bag at twice its rate while the gate says ready (found by a review)."""
    event, bag = bag_change
    infusion_bag_record(**bag)
    rate = Task.objects.get(event=event, text=PUMP_RATE)
    assert not complete(rate, nurse, "10", event.planned_at).hard_stop_failed
    infusion_bag_record(**{**bag, "option": BagOption.objects.get(duration_hours=48), "rate_ml_per_hour": "5"})
    rate.refresh_from_db()
    assert (rate.status, rate.value, rate.completed_by_id) == (Task.Status.OPEN, "", None)
    (undone,) = TaskActivity.objects.filter(task=rate, action=TaskActivity.Action.UNDO)
    assert "5 mL/h" in undone.detail and "10 mL/h" in undone.detail
    assert not complete(rate, nurse, "5", event.planned_at).hard_stop_failed


def test_a_bag_remade_at_the_same_rate_keeps_the_pump_rate_answer(bag_change, nurse):
    event, bag = bag_change
    infusion_bag_record(**bag)
    rate = Task.objects.get(event=event, text=PUMP_RATE)
    complete(rate, nurse, "10", event.planned_at)
    infusion_bag_record(**{**bag, "volume_ml": "250"})
    rate.refresh_from_db()
    assert (rate.status, rate.value) == (Task.Status.DONE, "10 mL/h")


@pytest.mark.parametrize(
    ("answer", "failed"),
    [("24 h (10 mL/h)", False), ("48 h (5 mL/h)", True), ("7 days (0.6 mL/h, benzyl alcohol)", True)],
)
def test_a_bag_duration_is_checked_against_the_bag_recorded_for_the_event(bag_change, pharmacist, answer, failed):
    """As the pump rate is: a duration unlike the bag the pharmacy recorded (a 7-day bag's
    preservative for a 24-hour bag's patient) fails the hard stop."""
    event, bag = bag_change
    infusion_bag_record(**bag)
    duration = Task.objects.get(event=event, text=BAG_DURATION)
    assert (duration.records, duration.hard_stop) == ("bag_duration", True)
    done = complete(duration, pharmacist, answer, event.planned_at - dt.timedelta(hours=3))
    assert (done.status, done.hard_stop_failed) == (Task.Status.DONE, failed)
    assert done.value == (f"{answer} (the bag recorded is a 24 h bag)" if failed else answer)


def test_a_bag_duration_unlike_the_bag_is_asked_about_before_it_is_recorded(bag_change, pharmacist):
    event, bag = bag_change
    infusion_bag_record(**bag)
    duration = Task.objects.get(event=event, text=BAG_DURATION)
    with pytest.raises(ValidationError) as asked:
        task_complete(task=duration, actor=pharmacist, value="48 h (5 mL/h)", now=event.planned_at)
    (question,) = asked.value.error_dict["value"]
    assert question.code == UNCONFIRMED_HARD_STOP and "the bag recorded is a 24 h bag" in question.message
    assert_still_open(duration)


def test_a_bag_duration_without_a_bag_recorded_is_refused(bag_change, pharmacist):
    event, _ = bag_change
    duration = Task.objects.get(event=event, text=BAG_DURATION)
    with pytest.raises(ValidationError) as refused:
        complete(duration, pharmacist, "24 h (10 mL/h)", event.planned_at)
    assert "No bag is recorded for this event yet" in refused.value.message_dict["value"][0]
    assert_still_open(duration)


def test_a_bag_remade_with_another_duration_reopens_the_duration_checked_against_the_first(bag_change, pharmacist):
    event, bag = bag_change
    infusion_bag_record(**bag)
    duration = Task.objects.get(event=event, text=BAG_DURATION)
    assert not complete(duration, pharmacist, "24 h (10 mL/h)", event.planned_at).hard_stop_failed
    infusion_bag_record(**{**bag, "volume_ml": "250"})  # remade as it was: the answer stands
    duration.refresh_from_db()
    assert duration.status == Task.Status.DONE
    infusion_bag_record(**{**bag, "option": BagOption.objects.get(duration_hours=48), "rate_ml_per_hour": "5"})
    duration.refresh_from_db()
    assert (duration.status, duration.value) == (Task.Status.OPEN, "")
    (undone,) = TaskActivity.objects.filter(task=duration, action=TaskActivity.Action.UNDO)
    assert "48 h" in undone.detail and "24 h (10 mL/h)" in undone.detail


def test_a_pump_rate_without_a_bag_recorded_is_refused(bag_change, nurse):
    event, _ = bag_change
    rate = Task.objects.get(event=event, text=PUMP_RATE)
    with pytest.raises(ValidationError) as refused:
        complete(rate, nurse, "10", event.planned_at)
    assert "No bag is recorded" in refused.value.message_dict["value"][0]
    assert_still_open(rate)


# --- the bag prepared ---------------------------------------------------------------------------


def test_the_bag_prepared_cannot_be_ticked_before_the_bag_is_recorded(bag_change, pharmacist, nurse):
    """Ticked without a bag, the gate showed pharmacy's part done while the nurse's pump rate was
    refused for want of a bag: the bag change could never get ready (found walking the demo)."""
    event, bag = bag_change
    prepared = Task.objects.get(event=event, text=BAG_PREPARED)
    assert prepared.records == "bag_prepared"
    with pytest.raises(ValidationError) as refused:
        complete(prepared, pharmacist, "yes", bag["now"])
    said = refused.value.message_dict["value"][0]
    assert said.startswith("Record the bag for this bag change first") and "Record the bag prepared" in said
    assert_still_open(prepared)

    infusion_bag_record(**bag)
    done = complete(prepared, pharmacist, "yes", bag["now"])
    assert (done.status, done.value, done.completed_by) == (Task.Status.DONE, "yes", pharmacist)
    rate = Task.objects.get(event=event, text=PUMP_RATE)
    assert not complete(rate, nurse, "10", event.planned_at).hard_stop_failed


def test_another_events_bag_does_not_prepare_this_one(bag_change, course, pharmacist):
    event, bag = bag_change
    infusion_bag_record(**bag)
    later = CareEvent.objects.filter(cycle__course=course, kind=CareEvent.Kind.BAG_CHANGE).order_by("planned_at")[1]
    prepared = Task.objects.get(event=later, text=BAG_PREPARED)
    with pytest.raises(ValidationError):
        complete(prepared, pharmacist, "yes", bag["now"])
    assert_still_open(prepared)


@pytest.mark.parametrize(
    ("response_kind", "allowed"),
    [("checkbox", True), ("attestation", True), ("number", False), ("text", False), ("datetime", False)],
)
def test_the_bag_prepared_is_a_tick_or_an_attestation(response_kind, allowed):
    item = TemplateItem(
        section="Pharmacy",
        order=1,
        text=BAG_PREPARED,
        role=Role.PHARMACIST,
        response_kind=response_kind,
        records="bag_prepared",
    )
    if allowed:
        item.clean()
        return
    with pytest.raises(ValidationError) as refused:
        item.clean()
    assert "records" in refused.value.message_dict


# --- premedication time ------------------------------------------------------------------------


def premedication_task(course) -> Task:
    return task_of(course, CareEvent.Kind.CYCLE_START, PREMEDICATION)


def test_the_premedication_task_names_the_regimens_drug_and_window(course):
    premedication = premedication_task(course)
    assert "dexamethasone 20 mg IV" in premedication.help_text
    assert "given 30–90 minutes before the start" in premedication.help_text


@pytest.mark.parametrize(
    ("given", "failed", "said"),
    [
        ("2026-03-02T08:00", False, ""),  # 60 minutes before
        ("2026-03-02T07:30", False, ""),  # 90 minutes before: the window's edge
        ("2026-03-02T08:30", False, ""),  # 30 minutes before: the other edge
        ("2026-03-02T08:50", True, "10 min before the start"),
        ("2026-03-02T09:10", True, "10 min after the start"),
        ("2026-03-02T06:00", True, "180 min before the start"),
    ],
)
def test_a_premedication_time_is_checked_against_the_window(course, nurse, clock, given, failed, said):
    now = STARTS_AT + dt.timedelta(minutes=30)
    clock.move_to(now, tick=False)
    done = complete(premedication_task(course), nurse, given, now)
    assert done.status == Task.Status.DONE
    assert done.hard_stop_failed is failed
    assert done.value.startswith(given.replace("T", " "))
    if failed:
        assert said in done.value and "the window is given 30–90 minutes before the start" in done.value


def test_a_premedication_time_in_the_future_is_refused(course, nurse, clock):
    now = STARTS_AT - dt.timedelta(hours=2)
    clock.move_to(now, tick=False)
    premedication = premedication_task(course)
    with pytest.raises(ValidationError) as refused:
        complete(premedication, nurse, "2026-03-02T08:00", now)  # an hour after `now`
    assert "cannot be in the future" in refused.value.message_dict["value"][0]
    assert_still_open(premedication)


def test_a_premedication_time_is_read_in_the_units_calendar_across_daylight_saving(patient, nurse, clock):
    """Cycle 2 starts on 13 April (EDT): the same wall-clock answer is 60 minutes before it."""
    for kind, items in ITEMS.items():
        publish_template(name=f"{kind} checks", trigger_kind=kind, items=items)
    course = CourseFactory(patient=patient, start_date=START, planned_cycles=2)
    course_schedule_build(course=course, now=STARTS_AT - dt.timedelta(days=3))
    second = CareEvent.objects.get(cycle__course=course, cycle__number=2, kind=CareEvent.Kind.CYCLE_START)
    assert second.planned_at == dt.datetime(2026, 4, 13, 13, tzinfo=dt.UTC)  # 09:00 EDT
    now = second.planned_at + dt.timedelta(minutes=5)
    clock.move_to(now, tick=False)
    done = complete(Task.objects.get(event=second, text=PREMEDICATION), nurse, "2026-04-13T08:00", now)
    assert not done.hard_stop_failed


@pytest.mark.parametrize(
    ("given", "said"),
    [
        # Year 1 at +14:00 passed Python's reader, then failed converting to UTC: a 500.
        ("0001-01-01T00:00+14:00", "Give a date between 2000 and 2099"),
        ("9999-12-31T23:59-14:00", "Give a date between 2000 and 2099"),
        ("0001-01-01T00:00", "Give a date between 2000 and 2099"),
        ("2026-03-02", "Give the time too"),  # never read as midnight
        ("2026-03-02T8am", "on a 24-hour clock"),
    ],
)
def test_a_premedication_time_out_of_the_calendar_or_without_its_time_is_refused_at_the_field(
    course, nurse, clock, given, said
):
    now = STARTS_AT + dt.timedelta(minutes=30)
    clock.move_to(now, tick=False)
    premedication = premedication_task(course)
    with pytest.raises(ValidationError) as refused:
        complete(premedication, nurse, given, now)
    assert said in refused.value.message_dict["value"][0]
    assert_still_open(premedication)


def test_a_premedication_time_with_an_offset_is_read_at_that_offset(course, nurse, clock):
    now = STARTS_AT + dt.timedelta(minutes=30)
    clock.move_to(now, tick=False)
    done = complete(premedication_task(course), nurse, "2026-03-02T13:00+00:00", now)  # 08:00 in New York
    assert (done.value, done.hard_stop_failed) == ("2026-03-02 08:00", False)


def test_a_premedication_time_is_shown_as_the_pages_write_a_moment(course, nurse, clock):
    """Stored "2026-03-02 07:00 (…)" for the gate and the API; a page (the task's row, the handoff's
    "Last premedication") writes it as every other moment, with its weekday, and keeps the why."""
    now = STARTS_AT + dt.timedelta(minutes=30)
    clock.move_to(now, tick=False)
    done = complete(premedication_task(course), nurse, "2026-03-02T06:00", now)
    assert done.value.startswith("2026-03-02 06:00 (180 min before the start")
    assert done.value_shown.startswith("Mon 2 Mar 2026, 06:00 (180 min before the start")
    assert done.value_shown.endswith(done.value[16:])


# --- CRS and ICANS assessment ------------------------------------------------------------------

CHECK = "CRS and ICANS check"


@pytest.fixture
def check(patient, clock):
    """A CRS and ICANS check due at the cycle's start, done only by recording the assessment."""
    item = {"text": CHECK, "response_kind": "text", "records": Records.TOXICITY_ASSESSMENT}
    publish_template(name="Watch", items=[item])
    event = make_event(patient, planned_at=STARTS_AT, start_date=START)
    checklists_instantiate(events=[event])
    return Task.objects.get(event=event, text=CHECK)


def assessed(patient, nurse, at, *, event=None) -> Assessment:
    return Assessment.objects.create(
        patient=patient,
        event=event,
        assessed_at=at,
        recorded_by=nurse,
        recorded_at=at,
        crs_grade=0,
        crs_rule="none",
        icans_grade=0,
    )


@pytest.mark.parametrize(
    ("assessed_from_due", "for_the_event"),
    [
        (dt.timedelta(hours=-2), False),  # the window's edges, on either side of the due time
        (dt.timedelta(hours=2), False),
        (dt.timedelta(hours=-6), True),  # recorded for this very event
    ],
)
def test_an_assessment_for_this_check_completes_it(check, patient, nurse, clock, assessed_from_due, for_the_event):
    now = STARTS_AT + dt.timedelta(hours=3)
    clock.move_to(now, tick=False)
    assessment = assessed(patient, nurse, STARTS_AT + assessed_from_due, event=check.event if for_the_event else None)
    done = complete(check, nurse, assessment_answer(assessment), now)
    assert (done.status, done.value) == (Task.Status.DONE, assessment_answer(assessment))


@pytest.mark.parametrize(
    ("assessed_from_due", "now_from_due"),
    [
        (dt.timedelta(days=-30), dt.timedelta(0)),  # last month's assessment says nothing of today
        (dt.timedelta(hours=-2, minutes=-1), dt.timedelta(0)),  # just outside the window
        (dt.timedelta(hours=3), dt.timedelta(hours=4)),  # the next check's assessment
        (dt.timedelta(hours=1), dt.timedelta(0)),  # not made yet: an hour from now
    ],
)
def test_an_assessment_that_does_not_answer_this_check_is_refused_at_the_field(
    check, patient, nurse, clock, assessed_from_due, now_from_due
):
    now = STARTS_AT + now_from_due
    clock.move_to(now, tick=False)
    other_event = make_event(patient, planned_at=STARTS_AT + assessed_from_due)  # another event's assessment
    assessment = assessed(patient, nurse, STARTS_AT + assessed_from_due, event=other_event)
    with pytest.raises(ValidationError) as refused:
        complete(check, nurse, assessment_answer(assessment), now)
    assert "That assessment does not answer this check" in refused.value.message_dict["value"][0]
    assert_still_open(check)


def test_another_patients_assessment_is_refused(check, nurse, clock, ward):
    clock.move_to(STARTS_AT, tick=False)
    assessment = assessed(PatientFactory(unit=ward), nurse, STARTS_AT)
    with pytest.raises(ValidationError, match="Record the assessment"):
        complete(check, nurse, assessment_answer(assessment), STARTS_AT)
    assert_still_open(check)
