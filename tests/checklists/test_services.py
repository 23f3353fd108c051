import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from checklists.gate import checklist_readiness, event_readiness
from checklists.models import Checklist, ChecklistTemplate, Task, TaskActivity
from checklists.services import (
    UNCONFIRMED_HARD_STOP,
    TaskConflict,
    checklists_instantiate,
    event_gate_override,
    task_claim,
    task_complete,
    task_mark_not_applicable,
    task_reassign,
    task_release,
    task_undo,
    task_verify,
    template_version_new_draft,
    template_version_publish,
)
from coordination.models import Notification
from patients.models import CareEvent, CareTeamMember, Indication, Setting
from patients.services import course_schedule_build, event_cancel, event_move, event_schedule

from ..factories import CourseFactory, PatientFactory, UserFactory
from .helpers import blockers_listed, checklist_for, make_event, override_gate, publish_template, task, texts

ORDER = "Sign the cycle order"
DOSE = "Check the dose"
PUMP = "Double-check the pump programme"
TEACH = "Teach the caregiver"
LINE = "Note the line type"
HANG = "Hang the bag"
TEMPERATURE = "Record the temperature"

CYCLE_START_ITEMS = [
    {"text": ORDER, "role": Role.ONCOLOGIST, "due_offset_minutes": -24 * 60},
    {
        "text": DOSE,
        "role": Role.PHARMACIST,
        "response_kind": "number",
        "unit": "mcg/day",
        "min_value": 9,
        "max_value": 28,
        "hard_stop": True,
        "due_offset_minutes": -120,
    },
    {
        "text": PUMP,
        "response_kind": "choice",
        "choices": ["matches", "does not match"],
        "failing_choices": ["does not match"],
        "hard_stop": True,
        "needs_verification": True,
        "verifier_role": Role.NURSE,
        "due_offset_minutes": -30,
    },
    {"text": TEACH, "response_kind": "attestation", "required": False},
    {"text": LINE, "response_kind": "text"},
    {"text": HANG},
    {"text": TEMPERATURE, "response_kind": "number", "unit": "°C", "min_value": 35, "max_value": 38.5},
]


@pytest.fixture
def version(db):
    return publish_template(items=CYCLE_START_ITEMS, dependencies=[(HANG, DOSE)])


@pytest.fixture
def event(patient, version):
    return make_event(patient)


@pytest.fixture
def checklist(event, version):
    return checklist_for(event)


def complete(checklist, text, actor, value="on"):
    """An answer recorded, confirmed when it fails a hard stop (as the row's "Record … anyway")."""
    return task_complete(task=task(checklist, text), actor=actor, value=value, confirmed=True)


def activity(task_):
    return list(TaskActivity.objects.filter(task=task_).order_by("pk").values_list("action", "actor__username"))


# --- snapshot ----------------------------------------------------------------------------


def test_a_checklist_keeps_its_tasks_when_the_template_is_edited_and_republished(version, patient, checklist):
    draft = template_version_new_draft(template=version.template, actor=None)
    dose = draft.items.get(text=DOSE)
    dose.text, dose.role, dose.min_value, dose.max_value = "Check the dose twice", Role.NURSE, Decimal(5), Decimal(9)
    dose.save()
    draft.items.get(text=LINE).delete()
    template_version_publish(version=draft, actor=None, change_summary="Tighter dose check")

    kept = task(checklist, DOSE)
    assert (kept.role, kept.min_value, kept.max_value, kept.limits_text) == ("pharmacist", 9, 28, "9–28 mcg/day")
    assert LINE in texts(checklist)
    checklist.refresh_from_db()
    assert checklist.version == version

    later = checklist_for(make_event(patient, number=2))
    assert later.version == draft
    assert LINE not in texts(later)
    changed = task(later, "Check the dose twice")
    assert (changed.role, changed.limits_text) == ("nurse", "5–9 mcg/day")


def test_publishing_gives_upcoming_events_a_checklist_but_not_past_ones(patient):
    upcoming = make_event(patient)
    past = make_event(patient, planned_at=dt.datetime(2020, 1, 6, 9, tzinfo=dt.UTC))
    version = publish_template(items=[{"text": HANG}])
    assert Checklist.objects.get(event=upcoming).version == version
    assert not Checklist.objects.filter(event=past).exists()


# --- instantiation -------------------------------------------------------------------------


def test_instantiating_twice_makes_one_checklist_per_event_and_template(version, patient):
    events = [make_event(patient), make_event(patient, number=2)]
    first = checklists_instantiate(events=events)
    again = checklists_instantiate(events=events)
    assert len(first) == 2 and again == []
    assert Checklist.objects.filter(event__in=events).count() == 2
    assert Task.objects.filter(event__in=events).count() == 2 * len(CYCLE_START_ITEMS)


def test_each_active_template_of_the_events_kind_gets_its_own_checklist(version, event):
    second = publish_template(name="Cycle start pharmacy", items=[{"text": "Label the bag", "role": "pharmacist"}])
    publish_template(name="Bag change", trigger_kind=CareEvent.Kind.BAG_CHANGE, items=[{"text": "Change the bag"}])
    ChecklistTemplate.objects.create(name="Never published", trigger_kind=CareEvent.Kind.CYCLE_START)
    publish_template(name="Inactive", items=[{"text": "Old habit"}], is_active=False)

    checklists_instantiate(events=[event])
    assert {c.version for c in event.checklists.all()} == {version, second}


def test_a_cancelled_event_gets_no_checklist(version, patient):
    cancelled = make_event(patient)
    cancelled.status = CareEvent.Status.CANCELLED
    cancelled.save()
    assert checklists_instantiate(events=[cancelled]) == []
    assert not cancelled.checklists.exists()


def test_building_a_course_schedule_instantiates_checklists_through_the_hook(version, patient):
    bag_change = publish_template(
        name="Bag change", trigger_kind=CareEvent.Kind.BAG_CHANGE, items=[{"text": "Change the bag"}]
    )
    course = CourseFactory(patient=patient, planned_cycles=2)
    course_schedule_build(course=course)
    starts = CareEvent.objects.filter(cycle__course=course, kind=CareEvent.Kind.CYCLE_START)
    bag_changes = CareEvent.objects.filter(cycle__course=course, kind=CareEvent.Kind.BAG_CHANGE)
    assert starts.count() == 2 and bag_changes.count() > 10
    assert set(Checklist.objects.filter(event__in=starts).values_list("event", "version")) == {
        (event.pk, version.pk) for event in starts
    }
    assert Checklist.objects.filter(event__in=bag_changes, version=bag_change).count() == bag_changes.count()
    assert not Checklist.objects.filter(event__kind=CareEvent.Kind.CYCLE_END).exists()

    course_schedule_build(course=course)  # idempotent: nothing new
    assert Checklist.objects.filter(event__cycle__course=course).count() == starts.count() + bag_changes.count()


def test_scheduling_an_event_by_hand_instantiates_its_checklist(patient):
    publish_template(name="Home visit", trigger_kind=CareEvent.Kind.HOME_VISIT, items=[{"text": "Check the pump"}])
    cycle = make_event(patient).cycle
    planned_at = dt.datetime.combine(cycle.start_date + dt.timedelta(days=5), dt.time(14), tzinfo=dt.UTC)
    visit = event_schedule(cycle=cycle, kind=CareEvent.Kind.HOME_VISIT, planned_at=planned_at, setting=Setting.HOME)
    assert texts(visit.checklists.get()) == ["Check the pump"]


def test_template_conditions_decide_whether_a_checklist_applies(patient):
    publish_template(items=[{"text": HANG}], conditions=[("cycle_number", "le", "2")])
    second, third = make_event(patient, number=2), make_event(patient, number=3)
    checklists_instantiate(events=[second, third])
    assert second.checklists.exists()
    assert not third.checklists.exists()


@pytest.mark.parametrize(
    ("condition", "event_fields", "applies"),
    [
        (("weight_kg", "lt", "45"), {"weight": "40.0"}, True),
        (("weight_kg", "lt", "45"), {"weight": "45.0"}, False),
        (("cycle_number", "le", "2"), {"number": 2}, True),
        (("cycle_number", "le", "2"), {"number": 3}, False),
        (("indication", "eq", "mrd_positive"), {"indication": Indication.MRD_POSITIVE}, True),
        (("indication", "eq", "mrd_positive"), {"indication": Indication.CONSOLIDATION}, False),
        (("setting", "eq", "home"), {"setting": Setting.HOME}, True),
        (("setting", "eq", "home"), {"setting": Setting.INPATIENT}, False),
        (("setting", "in", "home, clinic"), {"setting": Setting.CLINIC}, True),
    ],
)
def test_item_conditions_include_or_exclude_items(ward, condition, event_fields, applies):
    publish_template(items=[{"text": "Always"}, {"text": "Sometimes", "conditions": [condition]}])
    patient = PatientFactory(unit=ward, weight_kg=Decimal(event_fields.pop("weight", "70.0")))
    event = make_event(patient, **event_fields)
    expected = ["Always", "Sometimes"] if applies else ["Always"]
    assert texts(checklist_for(event)) == expected


def test_a_task_is_due_at_the_event_time_plus_the_items_offset(event, checklist):
    assert task(checklist, ORDER).due_at == event.planned_at - dt.timedelta(days=1)
    assert task(checklist, DOSE).due_at == event.planned_at - dt.timedelta(hours=2)
    assert task(checklist, TEMPERATURE).due_at == event.planned_at


def test_dependencies_are_copied_to_the_tasks(checklist):
    assert list(task(checklist, HANG).depends_on.all()) == [task(checklist, DOSE)]


def test_moving_an_event_moves_its_open_tasks_but_not_the_done_ones(event, checklist, oncologist):
    done = complete(checklist, ORDER, oncologist)
    new_time = event.planned_at + dt.timedelta(days=2, hours=3)
    event_move(event=event, planned_at=new_time)
    assert task(checklist, DOSE).due_at == new_time - dt.timedelta(hours=2)
    assert task(checklist, TEMPERATURE).due_at == new_time
    assert task(checklist, ORDER).due_at == done.due_at == event.planned_at - dt.timedelta(days=1)


def test_rebuilding_a_postponed_schedule_moves_the_open_tasks(version, patient):
    course = CourseFactory(patient=patient, planned_cycles=1)
    course_schedule_build(course=course)
    course.start_date += dt.timedelta(days=3)
    course.save()
    course_schedule_build(course=course)
    start = CareEvent.objects.get(cycle__course=course, kind=CareEvent.Kind.CYCLE_START)
    assert task(start.checklists.get(), TEMPERATURE).due_at == start.planned_at


def test_cancelling_an_event_cancels_its_open_tasks(event, checklist, oncologist):
    complete(checklist, ORDER, oncologist)
    event_cancel(event=event, reason="Admitted with an infection")
    statuses = dict(checklist.tasks.values_list("text", "status"))
    assert statuses.pop(ORDER) == Task.Status.DONE
    assert set(statuses.values()) == {Task.Status.CANCELLED}


def test_a_task_of_a_cancelled_event_is_not_reopened(event, checklist, oncologist, nurse):
    complete(checklist, ORDER, oncologist)
    skipped = task_mark_not_applicable(task=task(checklist, LINE), actor=nurse, reason="Port already in place")
    event_cancel(event=event, reason="Admitted with an infection")
    for done, actor in ((task(checklist, ORDER), oncologist), (skipped, nurse)):
        with pytest.raises(TaskConflict, match="This event is cancelled"):
            task_undo(task=done, actor=actor, reason="Entered on the wrong patient")
    statuses = dict(checklist.tasks.values_list("text", "status"))
    assert (statuses[ORDER], statuses[LINE]) == (Task.Status.DONE, Task.Status.NOT_APPLICABLE)
    assert not TaskActivity.objects.filter(action=TaskActivity.Action.UNDO).exists()


def _queries_to_instantiate(events) -> int:
    with CaptureQueriesContext(connection) as queries:
        created = checklists_instantiate(events=events)
    assert len(created) == len(events)
    return len(queries)


def _template_of(n_items, trigger_kind):
    items = [{"text": f"Item {n}", "conditions": [("weight_kg", "gt", "1")] if n % 2 else []} for n in range(n_items)]
    return publish_template(
        name=f"{n_items} items", trigger_kind=trigger_kind, items=items, dependencies=[("Item 1", "Item 0")]
    )


def test_instantiation_takes_as_many_queries_for_40_items_as_for_2(patient):
    _template_of(2, CareEvent.Kind.CYCLE_START)
    _template_of(40, CareEvent.Kind.BAG_CHANGE)
    small = _queries_to_instantiate([make_event(patient)])
    large = _queries_to_instantiate([make_event(patient, kind=CareEvent.Kind.BAG_CHANGE)])
    assert Task.objects.filter(event__kind=CareEvent.Kind.BAG_CHANGE).count() == 40
    assert small == large


def test_instantiation_takes_as_many_queries_for_10_events_as_for_1(ward):
    _template_of(12, CareEvent.Kind.CYCLE_START)
    one = _queries_to_instantiate([make_event(PatientFactory(unit=ward))])
    ten = _queries_to_instantiate([make_event(PatientFactory(unit=ward)) for _ in range(10)])
    assert Task.objects.count() == 11 * 12
    assert one == ten


# --- working tasks -------------------------------------------------------------------------


def test_a_number_outside_its_limits_is_refused_with_a_message_naming_them(checklist, nurse):
    with pytest.raises(ValidationError) as refused:
        complete(checklist, TEMPERATURE, nurse, "39")
    assert refused.value.message_dict == {"value": ["Must be 35–38.5 °C."]}
    assert task(checklist, TEMPERATURE).status == Task.Status.OPEN


@pytest.mark.parametrize("value", ["", "warm", "NaN", "Infinity", "1e9", None])
def test_a_number_task_needs_a_number(checklist, nurse, value):
    with pytest.raises(ValidationError, match="Enter a number"):
        complete(checklist, TEMPERATURE, nurse, value)


def test_a_number_within_its_limits_is_stored_with_its_unit(checklist, nurse):
    done = complete(checklist, TEMPERATURE, nurse, " 37,20 ")
    assert (done.status, done.value, done.hard_stop_failed) == ("done", "37.2 °C", False)
    assert (done.completed_by, done.assignee) == (nurse, nurse)
    assert activity(done) == [("complete", "nurse")]


@pytest.mark.parametrize(("value", "said"), [("2,800", "Write 2800 or 2.8"), ("-1,050", "Write -1050 or -1.05")])
def test_a_comma_before_three_digits_is_asked_about_not_read_as_a_decimal(checklist, pharmacist, value, said):
    """Found by review: "2,800" was stored as 2.8, a thousandth of what a writer of thousands
    meant (a dose without limits would pass unseen). A decimal comma with one, two or four digits
    ("37,20") is still one."""
    with pytest.raises(ValidationError) as refused:
        complete(checklist, DOSE, pharmacist, value)
    assert said in refused.value.message_dict["value"][0]
    assert task(checklist, DOSE).status == Task.Status.OPEN


def test_a_failing_hard_stop_number_is_recorded_as_failed(checklist, pharmacist):
    done = complete(checklist, DOSE, pharmacist, "112")
    assert (done.status, done.value, done.hard_stop_failed) == ("done", "112 mcg/day", True)
    assert activity(done) == [("hard_stop", "pharmacist")]


@pytest.mark.parametrize(("value", "failed"), [("8.9", True), ("9", False), ("28", False), ("28.1", True)])
def test_a_hard_stop_number_passes_at_either_limit_and_fails_just_outside(checklist, pharmacist, value, failed):
    """The limits (9 to 28 mcg/day) are the range's own ends: a dose at either passes."""
    assert complete(checklist, DOSE, pharmacist, value).hard_stop_failed is failed


def test_an_answer_failing_a_hard_stop_is_recorded_only_when_confirmed(checklist, pharmacist):
    """The typo guard: 112 for 11.2 mcg/day is refused with why, and nothing is recorded."""
    dose = task(checklist, DOSE)
    with pytest.raises(ValidationError) as refusal:
        task_complete(task=dose, actor=pharmacist, value="112")
    (error,) = refusal.value.error_dict["value"]
    assert error.code == UNCONFIRMED_HARD_STOP
    assert error.message.startswith("112 mcg/day is outside 9–28 mcg/day: recorded, it fails the hard stop")
    assert "Check it and enter it again, or record it anyway." in error.message
    assert task(checklist, DOSE).status == Task.Status.OPEN and not activity(dose)
    assert task_complete(task=dose, actor=pharmacist, value="11.2").hard_stop_failed is False  # no question asked


def test_a_confirmed_failure_tells_the_patients_oncologist(checklist, pharmacist, oncologist, nurse):
    complete(checklist, DOSE, pharmacist, "112")
    (told,) = Notification.objects.all()
    assert told.recipient == oncologist
    assert told.title.startswith("Hard stop failed: ") and checklist.event.patient.mrn in told.title
    assert "112 mcg/day" in told.body and "is blocked until the answer is re-entered" in told.body
    assert told.link == f"/events/{checklist.event_id}/"


def test_with_no_oncologist_on_the_team_the_units_coordinator_hears_a_failed_hard_stop(
    checklist, pharmacist, coordinator
):
    complete(checklist, DOSE, pharmacist, "112")
    assert [n.recipient for n in Notification.objects.all()] == [coordinator]


def test_a_choice_must_be_one_of_the_options_and_a_failing_one_fails_the_hard_stop(checklist, nurse):
    with pytest.raises(ValidationError, match="Choose one of: matches, does not match"):
        complete(checklist, PUMP, nurse, "looks fine")
    done = complete(checklist, PUMP, nurse, "does not match")
    assert (done.value, done.hard_stop_failed) == ("does not match", True)


def test_a_checkbox_must_be_ticked(checklist, nurse):
    with pytest.raises(ValidationError, match="Tick the box"):
        complete(checklist, HANG, nurse, "")
    assert task(checklist, HANG).status == Task.Status.OPEN


def test_a_text_task_stores_the_text(checklist, nurse):
    assert complete(checklist, LINE, nurse, " PICC, right arm ").value == "PICC, right arm"


def test_a_ticked_checkbox_is_stored_as_yes(checklist, oncologist):
    assert complete(checklist, ORDER, oncologist, "true").value == "yes"


def test_an_attestation_must_be_confirmed(checklist, nurse):
    with pytest.raises(ValidationError, match="Confirm the attestation"):
        complete(checklist, TEACH, nurse, "yes")
    assert complete(checklist, TEACH, nurse, "attested").value == "attested"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0001-01-01", "Give the time too"),  # stored as done before: a date alone, in year 1
        ("2026-03-02", "Give the time too, on a 24-hour clock (HH:MM)."),
        ("1999-12-31T23:59", "Give a date between 2000 and 2099: 1999 is a typo."),
        ("2100-01-01 00:00", "Give a date between 2000 and 2099: 2100 is a typo."),
        ("0001-01-01T00:00+14:00", "Give a date between 2000 and 2099: 1 is a typo."),
        ("2026-02-30T08:00", "Give a date and a time on a 24-hour clock"),
    ],
)
def test_a_date_and_time_answer_needs_both_within_the_years_every_form_allows(patient, nurse, value, message):
    publish_template(items=[{"text": "Line placed at", "response_kind": "datetime"}])
    placed = task(checklist_for(make_event(patient)), "Line placed at")
    with pytest.raises(ValidationError) as refused:
        task_complete(task=placed, actor=nurse, value=value)
    assert message in refused.value.message_dict["value"][0]
    assert task(placed.checklist, "Line placed at").status == Task.Status.OPEN
    assert task_complete(task=placed, actor=nurse, value="2026-03-02T08:15").value == "2026-03-02T08:15"


@pytest.mark.parametrize(("value", "message"), [("  ", "Enter a value"), ("x" * 1001, "At most 1,000 characters")])
def test_a_text_task_needs_a_short_text(checklist, nurse, value, message):
    with pytest.raises(ValidationError, match=message):
        complete(checklist, LINE, nurse, value)


@pytest.mark.parametrize("actor", ["outsider", "pharmacist", "oncologist", "coordinator", "admin_user"])
def test_only_a_care_team_member_with_the_tasks_role_may_complete_it(request, checklist, actor):
    with pytest.raises(PermissionDenied, match="Only a nurse on this patient's care team"):
        complete(checklist, LINE, request.getfixturevalue(actor), "PICC")
    assert task(checklist, LINE).status == Task.Status.OPEN


def test_a_nurse_of_the_unit_who_is_not_on_the_team_may_not_complete(checklist, ward):
    colleague = UserFactory(role=Role.NURSE, unit=ward)
    with pytest.raises(PermissionDenied):
        complete(checklist, LINE, colleague, "PICC")


def test_an_inactive_member_may_not_complete(checklist, nurse):
    nurse.is_active = False
    nurse.save()
    with pytest.raises(PermissionDenied):
        complete(checklist, LINE, nurse, "PICC")


def test_a_second_completion_is_rejected_and_names_the_first(checklist, nurse, nurse2):
    complete(checklist, LINE, nurse, "PICC")
    with pytest.raises(TaskConflict, match=f"Already completed by {nurse}"):
        complete(checklist, LINE, nurse2, "Port")
    with pytest.raises(TaskConflict, match="Already completed by you"):
        complete(checklist, LINE, nurse, "Port")
    assert task(checklist, LINE).value == "PICC"


def test_a_task_waits_for_its_dependencies(checklist, nurse, pharmacist):
    with pytest.raises(ValidationError, match=f"First: {DOSE}"):
        complete(checklist, HANG, nurse)
    complete(checklist, DOSE, pharmacist, "28")
    assert complete(checklist, HANG, nurse).status == Task.Status.DONE


def test_a_dependency_that_failed_its_hard_stop_holds_back_what_waits_for_it(checklist, nurse, pharmacist):
    complete(checklist, DOSE, pharmacist, "112")  # recorded anyway: a dose four times the band
    with pytest.raises(ValidationError, match=rf"First: {DOSE} \(its hard stop failed\)\."):
        complete(checklist, HANG, nurse)
    assert task(checklist, HANG).status == Task.Status.OPEN


def test_a_dependency_awaiting_its_double_check_holds_back_what_waits_for_it(double_check, nurse, nurse2):
    _, checklist = double_check
    complete(checklist, PUMP_LOCKED, nurse)
    with pytest.raises(ValidationError, match="awaiting its independent check"):
        complete(checklist, HANG, nurse)
    task_verify(task=task(checklist, PUMP_LOCKED), actor=nurse2)
    assert complete(checklist, HANG, nurse).status == Task.Status.DONE


def test_a_not_applicable_dependency_releases_its_dependents(version, patient, nurse):
    event = make_event(patient, number=2)
    home_version = publish_template(
        name="Home",
        items=[{"text": "Order supplies"}, {"text": "Set up at home"}],
        dependencies=[("Set up at home", "Order supplies")],
    )
    home = checklist_for(event, home_version)
    task_mark_not_applicable(task=task(home, "Order supplies"), actor=nurse, reason="Supplies already at home")
    assert complete(home, "Set up at home", nurse).status == Task.Status.DONE


# --- claiming and assigning ------------------------------------------------------------------


def test_a_nurse_claims_an_open_task_and_another_cannot_take_it(checklist, nurse, nurse2):
    claimed = task_claim(task=task(checklist, LINE), actor=nurse)
    assert claimed.assignee == nurse
    assert task_claim(task=claimed, actor=nurse).assignee == nurse  # claiming again changes nothing
    with pytest.raises(TaskConflict, match=f"Already claimed by {nurse}"):
        task_claim(task=claimed, actor=nurse2)
    with pytest.raises(PermissionDenied):
        task_claim(task=task(checklist, DOSE), actor=nurse)


def test_only_the_assignee_or_the_units_coordinator_releases_a_task(checklist, nurse, nurse2, coordinator):
    claimed = task_claim(task=task(checklist, LINE), actor=nurse)
    with pytest.raises(PermissionDenied):
        task_release(task=claimed, actor=nurse2)
    assert task_release(task=claimed, actor=coordinator).assignee is None
    task_claim(task=claimed, actor=nurse2)
    assert task_release(task=claimed, actor=nurse2).assignee is None
    assert [a for a, _ in activity(claimed)] == ["claim", "release", "claim", "release"]


def test_only_the_units_coordinator_reassigns_and_says_why(checklist, nurse, nurse2, coordinator, other_ward):
    line = task_claim(task=task(checklist, LINE), actor=nurse)
    with pytest.raises(PermissionDenied):
        task_reassign(task=line, assignee=nurse2, reason="Shift change", actor=nurse)
    foreign_coordinator = UserFactory(role=Role.COORDINATOR, unit=other_ward)
    with pytest.raises(PermissionDenied):
        task_reassign(task=line, assignee=nurse2, reason="Shift change", actor=foreign_coordinator)
    with pytest.raises(ValidationError, match="Say why"):
        task_reassign(task=line, assignee=nurse2, reason="  ", actor=coordinator)

    reassigned = task_reassign(task=line, assignee=nurse2, reason="Shift change", actor=coordinator)
    assert reassigned.assignee == nurse2
    detail = TaskActivity.objects.get(task=line, action=TaskActivity.Action.REASSIGN).detail
    assert detail == f"{nurse} → {nurse2}: Shift change"


@pytest.mark.parametrize("assignee", ["pharmacist", "outsider", "coordinator"])
def test_a_task_is_reassigned_only_to_a_team_member_with_its_role(request, checklist, coordinator, assignee):
    with pytest.raises(ValidationError, match="is not a nurse on this care team"):
        task_reassign(
            task=task(checklist, LINE), assignee=request.getfixturevalue(assignee), reason="x", actor=coordinator
        )
    assert task(checklist, LINE).assignee is None


def test_a_task_is_not_reassigned_to_a_team_member_who_has_left(checklist, coordinator, nurse2):
    nurse2.is_active = False
    nurse2.save()
    with pytest.raises(ValidationError, match="is not a nurse on this care team"):
        task_reassign(task=task(checklist, LINE), assignee=nurse2, reason="Shift change", actor=coordinator)
    assert task(checklist, LINE).assignee is None


def test_a_done_task_is_not_reassigned(checklist, nurse, nurse2, coordinator):
    done = complete(checklist, LINE, nurse, "PICC")
    with pytest.raises(TaskConflict):
        task_reassign(task=done, assignee=nurse2, reason="Too late", actor=coordinator)


# --- verification, undo, not applicable -----------------------------------------------------


def test_the_completer_may_not_verify_their_own_work(checklist, nurse):
    done = complete(checklist, PUMP, nurse, "matches")
    with pytest.raises(PermissionDenied, match="someone other than the person who completed it"):
        task_verify(task=done, actor=nurse)
    assert task(checklist, PUMP).verified_by is None


def test_another_nurse_verifies_and_only_once(checklist, nurse, nurse2, pharmacist):
    done = complete(checklist, PUMP, nurse, "matches")
    with pytest.raises(PermissionDenied, match="Only a nurse of this patient's care team may verify"):
        task_verify(task=done, actor=pharmacist)
    verified = task_verify(task=done, actor=nurse2)
    assert (verified.verified_by, verified.completed_by) == (nurse2, nurse)
    assert verified.verified_at is not None
    with pytest.raises(TaskConflict, match=f"Already verified by {nurse2}"):
        task_verify(task=done, actor=pharmacist)
    assert activity(done) == [("complete", "nurse"), ("verify", "nurse2")]


def test_a_verification_repeated_by_one_no_longer_on_the_team_is_refused(checklist, nurse, nurse2):
    """Found by a review: a repeated verification (a second click, an API retry) was answered as
    done before the policy was asked, so one taken off the care team since, or deactivated, still
    read "Verified" for a patient whose work they may no longer do."""
    done = task_verify(task=complete(checklist, PUMP, nurse, "matches"), actor=nurse2)
    assert task_verify(task=done, actor=nurse2).verified_by == nurse2  # a retry, still on the team
    CareTeamMember.objects.filter(patient_id=done.patient_id, user=nurse2).delete()
    with pytest.raises(TaskConflict, match=f"Already verified by {nurse2}"):  # refused, not answered as done
        task_verify(task=done, actor=nurse2)


def test_a_nurse_outside_the_team_may_not_verify(checklist, nurse, outsider):
    done = complete(checklist, PUMP, nurse, "matches")
    with pytest.raises(PermissionDenied):
        task_verify(task=done, actor=outsider)


def test_only_a_done_task_that_needs_it_can_be_verified(checklist, nurse, nurse2):
    with pytest.raises(TaskConflict, match="not waiting for verification"):
        task_verify(task=task(checklist, PUMP), actor=nurse2)
    done = complete(checklist, LINE, nurse, "PICC")
    with pytest.raises(TaskConflict, match="not waiting for verification"):
        task_verify(task=done, actor=nurse2)


def test_undo_reopens_the_task_and_keeps_the_history(checklist, nurse, nurse2):
    done = complete(checklist, PUMP, nurse, "matches")
    task_verify(task=done, actor=nurse2)
    with pytest.raises(ValidationError, match="Say why"):
        task_undo(task=done, actor=nurse, reason="")
    reopened = task_undo(task=done, actor=nurse2, reason="Rate changed by the oncologist")
    assert reopened.status == Task.Status.OPEN
    assert (reopened.value, reopened.completed_by, reopened.verified_by, reopened.hard_stop_failed) == (
        "",
        None,
        None,
        False,
    )
    assert activity(done) == [("complete", "nurse"), ("verify", "nurse2"), ("undo", "nurse2")]
    undo = TaskActivity.objects.get(task=done, action=TaskActivity.Action.UNDO)
    assert undo.detail == "matches: Rate changed by the oncologist"
    assert complete(checklist, PUMP, nurse2, "matches").completed_by == nurse2


def test_undo_is_for_the_tasks_role_and_for_done_tasks(checklist, nurse, pharmacist):
    with pytest.raises(TaskConflict, match="Only a completed or not-applicable task"):
        task_undo(task=task(checklist, LINE), actor=nurse, reason="oops")
    done = complete(checklist, LINE, nurse, "PICC")
    with pytest.raises(PermissionDenied):
        task_undo(task=done, actor=pharmacist, reason="oops")


def test_not_applicable_needs_a_reason(checklist, nurse):
    with pytest.raises(ValidationError, match="Say why the task does not apply"):
        task_mark_not_applicable(task=task(checklist, LINE), actor=nurse, reason=" ")
    with pytest.raises(ValidationError, match="At most 500"):
        task_mark_not_applicable(task=task(checklist, LINE), actor=nurse, reason="x" * 501)
    skipped = task_mark_not_applicable(task=task(checklist, LINE), actor=nurse, reason=" Port already in place ")
    assert (skipped.status, skipped.not_applicable_reason) == ("not_applicable", "Port already in place")
    assert activity(skipped) == [("not_applicable", "nurse")]
    reopened = task_undo(task=skipped, actor=nurse, reason="The port is blocked")
    assert (reopened.status, reopened.not_applicable_reason) == ("open", "")


def test_a_hard_stop_cannot_be_marked_not_applicable(checklist, pharmacist):
    with pytest.raises(ValidationError, match="hard-stop check cannot be skipped"):
        task_mark_not_applicable(task=task(checklist, DOSE), actor=pharmacist, reason="Dose obviously fine")
    assert task(checklist, DOSE).status == Task.Status.OPEN


PUMP_LOCKED = "Pump programmed at the label rate and locked; independent double-check"


@pytest.fixture
def double_check(patient):
    """As every starter template has it: required, checked by a second nurse, not a hard stop."""
    item = {"text": PUMP_LOCKED, "needs_verification": True, "verifier_role": Role.NURSE}
    event = make_event(patient)
    return event, checklist_for(
        event, publish_template(items=[item, {"text": HANG}], dependencies=[(HANG, PUMP_LOCKED)])
    )


def test_a_double_check_is_never_marked_not_applicable_by_the_nurse_it_would_check(double_check, nurse):
    event, checklist = double_check
    done = complete(checklist, PUMP_LOCKED, nurse)
    task_undo(task=done, actor=nurse, reason="Nobody free to check")
    with pytest.raises(ValidationError, match="independent double check cannot be skipped") as refused:
        task_mark_not_applicable(task=done, actor=nurse, reason="Checked it myself twice")
    assert "oncologist may override the gate" in refused.value.message_dict["reason"][0]
    assert task(checklist, PUMP_LOCKED).status == Task.Status.OPEN
    readiness = event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks"))
    assert not readiness.ready and [b.text for b in readiness.blockers] == [PUMP_LOCKED, HANG]


CLEAR = "Clear to start the infusion"


def test_a_required_attestation_is_signed_never_marked_not_applicable(patient, oncologist, nurse):
    """Found by a review: the oncologist's "Clear to start the infusion" could be skipped with a
    reason, and the gate then read ready with nobody having cleared the start. An optional
    attestation (a caregiver taught) blocks nothing and may still be skipped."""
    items = [
        {"text": CLEAR, "role": Role.ONCOLOGIST, "response_kind": "attestation"},
        {"text": TEACH, "response_kind": "attestation", "required": False},
    ]
    event = make_event(patient)
    checklist = checklist_for(event, publish_template(items=items))
    with pytest.raises(ValidationError, match="attestation is signed, not skipped") as refused:
        task_mark_not_applicable(task=task(checklist, CLEAR), actor=oncologist, reason="Cleared on the phone")
    assert "oncologist may override the gate" in refused.value.message_dict["reason"][0]
    assert task(checklist, CLEAR).status == Task.Status.OPEN
    assert not event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks")).ready
    skipped = task_mark_not_applicable(task=task(checklist, TEACH), actor=nurse, reason="No caregiver at home")
    assert skipped.status == Task.Status.NOT_APPLICABLE


def test_not_applicable_is_for_the_tasks_role(checklist, pharmacist):
    with pytest.raises(PermissionDenied):
        task_mark_not_applicable(task=task(checklist, LINE), actor=pharmacist, reason="Not mine")


# --- the readiness gate ----------------------------------------------------------------------


def blockers(readiness):
    return {role: [(b.text, b.reason) for b in found] for role, found in readiness.by_role.items()}


def test_a_new_checklist_is_blocked_by_its_open_required_tasks_by_role(checklist):
    readiness = checklist_readiness(checklist)
    assert not readiness.ready
    assert not readiness.ready
    assert blockers(readiness) == {
        "Oncologist": [(ORDER, "open")],
        "Pharmacist": [(DOSE, "open")],
        "Nurse": [(PUMP, "open"), (LINE, "open"), (HANG, "open"), (TEMPERATURE, "open")],
    }  # the caregiver teaching is optional


def test_the_gate_names_hard_stops_and_missing_verifications(checklist, nurse, pharmacist):
    complete(checklist, DOSE, pharmacist, "40")
    complete(checklist, PUMP, nurse, "matches")
    found = blockers(checklist_readiness(checklist))
    assert found["Pharmacist"] == [(DOSE, "hard stop failed (40 mcg/day)")]
    assert (PUMP, "awaiting independent verification") in found["Nurse"]


def test_the_gate_opens_when_every_required_task_is_done_and_verified(checklist, nurse, nurse2, pharmacist, oncologist):
    complete(checklist, ORDER, oncologist)
    complete(checklist, DOSE, pharmacist, "28")
    complete(checklist, PUMP, nurse, "matches")
    complete(checklist, HANG, nurse)
    complete(checklist, TEMPERATURE, nurse, "36.8")
    task_mark_not_applicable(task=task(checklist, LINE), actor=nurse, reason="Port documented at admission")
    assert blockers(checklist_readiness(checklist)) == {"Nurse": [(PUMP, "awaiting independent verification")]}
    task_verify(task=task(checklist, PUMP), actor=nurse2)
    readiness = checklist_readiness(checklist)
    assert readiness.ready and not readiness.overridden and readiness.blockers == []

    task_undo(task=task(checklist, HANG), actor=nurse2, reason="Wrong bag")
    assert not checklist_readiness(checklist).ready


def test_an_events_gate_needs_every_checklist(version, event, checklist, nurse):
    other = publish_template(name="Teaching", items=[{"text": "Give the leaflet"}])
    second = checklist_for(event, other)
    readiness = event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks"))
    assert {b.task_id for b in readiness.blockers} >= {task(second, "Give the leaflet").pk, task(checklist, LINE).pk}
    assert not readiness.ready


@pytest.mark.parametrize("actor", ["nurse", "pharmacist", "coordinator", "admin_user"])
def test_only_an_oncologist_may_override_the_gate(request, event, checklist, actor):
    with pytest.raises(PermissionDenied, match="Only an oncologist"):
        override_gate(event, request.getfixturevalue(actor), reason="Clinically urgent: the line is in")


def test_an_oncologist_outside_the_care_team_may_not_override(event, checklist, ward):
    stranger = UserFactory(role=Role.ONCOLOGIST, unit=ward)
    with pytest.raises(PermissionDenied):
        override_gate(event, stranger, reason="Clinically urgent: the line is in")


@pytest.mark.parametrize("reason", ["  ", "ok", "Dose agreed by phone"[:19]])
def test_an_override_needs_a_reason_of_20_characters(event, checklist, oncologist, reason):
    with pytest.raises(ValidationError, match="Write at least 20 characters: what makes the start safe"):
        override_gate(event, oncologist, reason=reason)
    checklist.refresh_from_db()
    assert checklist.override_reason == ""


def test_an_override_needs_a_kind_of_justification(event, checklist, oncologist):
    with pytest.raises(ValidationError, match="Choose the kind of justification"):
        override_gate(event, oncologist, reason="Dose agreed on the phone", justification="because")


def test_an_override_confirms_what_it_covers_and_refuses_when_that_changed(event, checklist, oncologist, pharmacist):
    listed = event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks"))
    complete(checklist, DOSE, pharmacist, "40")  # a hard stop fails after the page was drawn
    with pytest.raises(ValidationError, match="What blocks the event changed while you looked"):
        event_gate_override(
            event=event,
            actor=oncologist,
            reason="Dose agreed on the phone",
            justification="confirmed_verbally",
            covers=[blocker.key for blocker in listed.unresolved],
        )
    checklist.refresh_from_db()
    assert checklist.overridden_at is None


def test_the_care_team_oncologist_overrides_a_blocked_gate_with_a_reason(event, checklist, oncologist, pharmacist):
    complete(checklist, DOSE, pharmacist, "40")
    now = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
    overridden = override_gate(
        event, oncologist, reason=" Dose confirmed by phone ", justification="confirmed_verbally", now=now
    )
    assert overridden == [checklist]
    checklist.refresh_from_db()
    assert (checklist.override_reason, checklist.overridden_by, checklist.overridden_at) == (
        "Dose confirmed by phone",
        oncologist,
        now,
    )
    assert checklist.override_justification == "confirmed_verbally"
    record = TaskActivity.objects.get(checklist=checklist, action=TaskActivity.Action.OVERRIDE)
    said = "Confirmed verbally by the responsible clinician: Dose confirmed by phone"
    assert (record.actor, record.detail, record.task) == (oncologist, said, None)

    readiness = event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks"))
    assert readiness.ready and readiness.overridden
    assert readiness.overrides == [checklist]
    assert (DOSE, "hard stop failed (40 mcg/day)") in blockers(readiness)["Pharmacist"]


def test_an_override_does_not_cover_a_hard_stop_that_fails_afterwards(event, checklist, oncologist, pharmacist):
    override_gate(event, oncologist, reason="Dose agreed on the phone")
    assert checklist_readiness(Checklist.objects.get(pk=checklist.pk)).ready
    complete(checklist, DOSE, pharmacist, "40")  # was open when overridden; now it fails its hard stop
    readiness = checklist_readiness(Checklist.objects.get(pk=checklist.pk))
    assert not readiness.ready
    assert [b.text for b in readiness.unresolved] == [DOSE]


def test_an_override_is_lifted_when_its_event_moves(event, checklist, oncologist):
    """The oncologist judged the start safe at its time; days later the same open items need a new
    decision. The override stays on the record, with its lifting in the history."""
    override_gate(event, oncologist, reason="Line checked by the vascular access team")
    assert checklist_readiness(Checklist.objects.get(pk=checklist.pk)).ready
    event_move(event=event, planned_at=event.planned_at)  # saved again at the same time: it stays
    assert checklist_readiness(Checklist.objects.get(pk=checklist.pk)).ready

    event_move(event=event, planned_at=event.planned_at + dt.timedelta(days=3))

    checklist.refresh_from_db()
    readiness = checklist_readiness(checklist)
    assert not readiness.ready and not readiness.overridden
    assert checklist.override_reason == "Line checked by the vascular access team"  # still counted as given
    lifted = TaskActivity.objects.get(checklist=checklist, action=TaskActivity.Action.OVERRIDE_LIFTED)
    assert lifted.actor is None and "what blocks it needs a new decision" in lifted.detail

    override_gate(event, oncologist, reason="Line checked again on the new day, by the team")
    assert checklist_readiness(Checklist.objects.get(pk=checklist.pk)).ready


def test_a_rebuild_that_moves_several_events_lifts_the_override_of_each(version, patient, oncologist):
    """A postponed course moves every cycle start at once (one hook call for all the moved events):
    each of their overrides was given for the old time and needs a new decision."""
    course = CourseFactory(patient=patient, planned_cycles=2)
    course_schedule_build(course=course)
    starts = list(
        CareEvent.objects.filter(cycle__course=course, kind=CareEvent.Kind.CYCLE_START).order_by("planned_at")
    )
    for start in starts:
        override_gate(start, oncologist, reason="Line checked by the vascular access team")
    assert all(event_readiness(start.checklists.all()).ready for start in starts)

    course.start_date += dt.timedelta(days=3)
    course.save()
    course_schedule_build(course=course)

    for start in starts:
        readiness = event_readiness(Checklist.objects.filter(event=start).prefetch_related("tasks"))
        assert not readiness.ready and not readiness.overridden, start.cycle.number
    lifted = TaskActivity.objects.filter(action=TaskActivity.Action.OVERRIDE_LIFTED)
    assert sorted(lifted.values_list("checklist__event_id", flat=True)) == sorted(start.pk for start in starts)


def test_an_override_of_a_failed_value_does_not_cover_another_failing_value_after_an_undo(
    event, checklist, oncologist, pharmacist
):
    complete(checklist, DOSE, pharmacist, "29")  # just above the range: the oncologist accepts it
    override_gate(event, oncologist, reason="29 mcg/day agreed with the haematologist")
    assert checklist_readiness(Checklist.objects.get(pk=checklist.pk)).ready
    task_undo(task=task(checklist, DOSE), actor=pharmacist, reason="Typed again from the order")
    complete(checklist, DOSE, pharmacist, "2800")  # a hundredfold error, never seen by the oncologist
    readiness = checklist_readiness(Checklist.objects.get(pk=checklist.pk))
    assert [(b.text, b.reason) for b in readiness.unresolved] == [(DOSE, "hard stop failed (2800 mcg/day)")]

    task_undo(task=task(checklist, DOSE), actor=pharmacist, reason="Back to the agreed dose")
    complete(checklist, DOSE, pharmacist, "29")  # the very answer the override accepted
    assert checklist_readiness(Checklist.objects.get(pk=checklist.pk)).ready


def test_an_override_is_refused_when_other_items_block_even_as_many(
    event, checklist, oncologist, nurse, nurse2, pharmacist
):
    """The page listed one set of blockers; meanwhile one cleared and a failed hard stop came: the
    count is the same, what blocks is not."""
    complete(checklist, ORDER, oncologist)
    complete(checklist, DOSE, pharmacist, "15")
    complete(checklist, HANG, nurse)
    complete(checklist, TEMPERATURE, nurse, "36.8")
    task_mark_not_applicable(task=task(checklist, LINE), actor=nurse, reason="Port documented at admission")
    seen = blockers_listed(event)  # the pump's double check, open
    complete(checklist, PUMP, nurse, "matches")
    task_verify(task=task(checklist, PUMP), actor=nurse2)
    task_undo(task=task(checklist, DOSE), actor=pharmacist, reason="Re-checked against the order")
    complete(checklist, DOSE, pharmacist, "280")  # a failed hard stop the oncologist never saw
    assert len(blockers_listed(event)) == len(seen) == 1
    with pytest.raises(ValidationError, match="What blocks the event changed while you looked"):
        event_gate_override(
            event=event,
            actor=oncologist,
            reason="Pump checked on paper by the charge nurse",
            justification="done_elsewhere",
            covers=seen,
        )
    assert not Checklist.objects.filter(pk=checklist.pk, overridden_at__isnull=False).exists()


@pytest.mark.parametrize("status", [CareEvent.Status.CANCELLED, CareEvent.Status.MISSED, CareEvent.Status.DONE])
def test_a_cancelled_or_settled_event_is_not_overridden(event, checklist, oncologist, status):
    CareEvent.objects.filter(pk=event.pk).update(status=status)
    event.refresh_from_db()
    with pytest.raises(ValidationError, match=f"This event is {status.label.lower()}: its gate can no longer be"):
        override_gate(event, oncologist, reason="Clinical urgency: start today as agreed")
    checklist.refresh_from_db()
    assert (checklist.override_reason, checklist.overridden_blockers) == ("", [])


def test_an_unblocked_gate_has_nothing_to_override(patient, oncologist):
    publish_template(items=[{"text": "Optional", "required": False}])
    event = make_event(patient)
    checklist_for(event)
    with pytest.raises(ValidationError, match="nothing to override"):
        override_gate(event, oncologist, reason="Just in case it is needed")
