"""Demo data for `manage.py seed_demo`: idempotent, relative to today.

It lives in the top layer because it builds on every layer below (record, checklists,
handoffs). Every change goes through the services, as a user's would.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import models, transaction
from django.utils import timezone

from accounts.models import Organisation, Role, Unit, User
from checklists.gate import blocker_key
from checklists.models import Checklist, OverrideJustification, Task, bag_duration_hours
from checklists.recorded import check_recorded_answer
from checklists.services import ATTESTATION_VALUE, events_settle, task_complete, task_verify
from checklists.starter import StarterUpdate, starter_library_load, starter_library_update
from patients.grading import Consciousness, OxygenDevice, Vasopressors
from patients.models import (
    Assessment,
    CareEvent,
    CareTeamMember,
    Cycle,
    Indication,
    InfusionBag,
    Interruption,
    Patient,
    PumpEvent,
    RegimenVersion,
    Setting,
    TreatmentCourse,
)
from patients.services import (
    assessment_confirm,
    assessment_record,
    bag_for_event,
    bag_option_for_hours,
    bags_awaiting_decision,
    check_in_record,
    course_schedule_build,
    course_stop_for_good,
    event_cancel,
    infusion_bag_record,
    interruption_restart,
    interruption_stop,
    next_change_after,
    pump_event_record,
    regimen_library_seed,
    weighing_record,
)

from .handoffs.services import (
    DEFAULT_CONTINGENCY,
    HandoffContent,
    default_actions,
    handoff_accept,
    handoff_acknowledge,
    handoff_action_complete,
    handoff_action_defaults_seed,
    handoff_comment,
    handoff_complete,
    handoff_create,
    handoff_return,
    handoff_send,
    handoff_sign_off,
)
from .models import Handoff, OnCallShift
from .reminders.models import Reminder, TaskSnooze
from .reminders.services import notifications_retire_unseeable
from .watch.services import ShiftInput, alert_acknowledge, roster_replace

ORGANISATION = "Riverside University Hospital"
ZONE = "America/New_York"
WARD, CLINIC, AGENCY, OTHER_WARD = "Haematology Ward 7", "Day Infusion Clinic", "HomeCare Infusion", "Cardiology Ward 9"

DEMO_USERS = [
    # username, first, last, role, unit
    ("pharmacist", "Priya", "Shah", Role.PHARMACIST, WARD),
    # The second pharmacist checks what the first compounded (a bag is never checked by its maker).
    ("pharmacist2", "Paul", "Mensah", Role.PHARMACIST, WARD),
    ("nurse", "Nora", "Quinn", Role.NURSE, WARD),
    ("nurse2", "Noah", "Reyes", Role.NURSE, WARD),
    ("oncologist", "Olivia", "Grant", Role.ONCOLOGIST, WARD),
    # Second call on the ward's on-call roster: an urgent alert goes to her when first call is silent.
    ("oncologist2", "Omar", "Said", Role.ONCOLOGIST, WARD),
    ("casemanager", "Carmen", "Lopez", Role.CASE_MANAGER, WARD),
    ("coordinator", "Colin", "Hart", Role.COORDINATOR, WARD),
    ("homenurse", "Hana", "Kim", Role.NURSE, AGENCY),
    ("outsider", "Oscar", "Wells", Role.NURSE, OTHER_WARD),
]
WARD_TEAM = ["pharmacist", "nurse", "nurse2", "oncologist", "casemanager"]
# Admins who own the checklist templates (username, first, last, clinical role).
CONTENT_ADMINS = [
    ("pharmacyadmin", "Petra", "Novak", Role.PHARMACIST),
    ("oncologyadmin", "Oren", "Baptiste", Role.ONCOLOGIST),
]


@dataclass(frozen=True)
class DemoPatient:
    mrn: str
    given: str
    family: str
    born: dt.date
    sex: str
    weight: str
    height: str
    indication: str
    cycles: int
    start_offset: int  # days from today to day 1 of cycle 1
    bag_hours: int = 48
    setting: str = Setting.HOME
    story: str = ""


DEMO_PATIENTS = [
    DemoPatient(
        "RUH100001",
        "Alice",
        "Moreau",
        dt.date(1968, 4, 2),
        "female",
        "71.5",
        "166",
        Indication.RELAPSED_REFRACTORY,
        2,
        1,
        story="cycle 1 starts tomorrow",
    ),
    DemoPatient(
        "RUH100002",
        "Bruno",
        "Keller",
        dt.date(1975, 9, 14),
        "male",
        "82.0",
        "180",
        Indication.RELAPSED_REFRACTORY,
        2,
        -4,
        story="inpatient, day 5 of 9",
    ),
    DemoPatient(
        "RUH100003",
        "Chloe",
        "Dubois",
        dt.date(1990, 1, 30),
        "female",
        "58.3",
        "162",
        Indication.MRD_POSITIVE,
        4,
        -2,
        story="goes home tomorrow",
    ),
    DemoPatient(
        "RUH100004",
        "Daniel",
        "Okafor",
        dt.date(1959, 6, 8),
        "male",
        "77.2",
        "175",
        Indication.RELAPSED_REFRACTORY,
        2,
        -15,
        story="at home, bag changes",
    ),
    DemoPatient(
        "RUH100005",
        "Eva",
        "Lindqvist",
        dt.date(1984, 11, 21),
        "female",
        "64.0",
        "170",
        Indication.MRD_POSITIVE,
        4,
        -10,
        bag_hours=168,
        story="at home, 7-day bags",
    ),
    DemoPatient(
        "RUH100006",
        "Farid",
        "Haddad",
        dt.date(1971, 3, 3),
        "male",
        "90.1",
        "183",
        Indication.RELAPSED_REFRACTORY,
        2,
        -33,
        story="rest period after cycle 1",
    ),
    DemoPatient(
        "RUH100007",
        "Grace",
        "Nakamura",
        dt.date(1966, 8, 17),
        "female",
        "55.0",
        "158",
        Indication.CONSOLIDATION,
        4,
        -100,
        setting=Setting.CLINIC,
        story="cycle 3 in clinic",
    ),
    DemoPatient(
        "RUH100008",
        "Hugo",
        "Silva",
        dt.date(1980, 12, 5),
        "male",
        "73.4",
        "177",
        Indication.MRD_POSITIVE,
        4,
        -40,
        story="cycle 2 starts in 2 days",
    ),
    DemoPatient(
        "RUH100009",
        "Ines",
        "Barros",
        dt.date(1995, 5, 25),
        "female",
        "61.8",
        "165",
        Indication.RELAPSED_REFRACTORY,
        2,
        -42,
        story="cycle 2, day 1 in hospital",
    ),
    DemoPatient(
        "RUH100010",
        "Jonas",
        "Berg",
        dt.date(1952, 2, 11),
        "male",
        "68.9",
        "172",
        Indication.CONSOLIDATION,
        4,
        3,
        story="consolidation starts in 3 days, 74 years old",
    ),
    DemoPatient(
        "RUH100011",
        "Kira",
        "Novak",
        dt.date(1988, 7, 7),
        "female",
        "49.5",
        "160",
        Indication.MRD_POSITIVE,
        4,
        -19,
        bag_hours=72,
        story="at home, day 20",
    ),
    DemoPatient(
        "RUH100012",
        "Leo",
        "Marchetti",
        dt.date(2019, 10, 1),
        "male",
        "18.4",
        "110",
        Indication.RELAPSED_REFRACTORY,
        2,
        2,
        bag_hours=24,
        story="child under 22 kg, starts in 2 days",
    ),
    DemoPatient(
        "RUH100013",
        "Omar",
        "Haddad",
        dt.date(1961, 2, 11),
        "male",
        "77.0",
        "178",
        Indication.RELAPSED_REFRACTORY,
        9,
        -216,
        bag_hours=96,
        story="continued therapy, cycle 6 (84-day cycles)",
    ),
    DemoPatient(
        "RUH100014",
        "Ines",
        "Costa",
        dt.date(1984, 6, 30),
        "female",
        "62.0",
        "165",
        Indication.RELAPSED_REFRACTORY,
        2,
        -14,
        story="pump occlusion 2 days ago, 5-hour break: the plan moved",
    ),
    DemoPatient(
        "RUH100015",
        "Viktor",
        "Novak",
        dt.date(1956, 9, 9),
        "male",
        "81.0",
        "180",
        Indication.MRD_POSITIVE,
        4,
        -6,
        story="grade 4 CRS yesterday: stopped for good",
    ),
]
# Consolidation cycles wait for the chemotherapy plan to set their start; the demo's plan puts
# a 3-week chemotherapy block between cycles (demo data only).
DEMO_CHEMOTHERAPY_BLOCK_DAYS = 21
OUTSIDER_PATIENT = DemoPatient(
    "RUH900001", "Mona", "Petrov", dt.date(1970, 1, 1), "female", "70.0", "168", Indication.MRD_POSITIVE, 1, -5
)


@dataclass
class SeedResult:
    users: int
    patients: int
    starter: StarterUpdate  # the library's corrections, left as drafts to review


def _units() -> dict[str, Unit]:
    organisation, _ = Organisation.objects.get_or_create(name=ORGANISATION)
    kinds = {
        WARD: Unit.Kind.INPATIENT_WARD,
        CLINIC: Unit.Kind.INFUSION_CLINIC,
        AGENCY: Unit.Kind.HOME_HEALTH,
        OTHER_WARD: Unit.Kind.INPATIENT_WARD,
    }
    return {
        name: Unit.objects.get_or_create(
            organisation=organisation, name=name, defaults={"kind": kind, "time_zone": ZONE}
        )[0]
        for name, kind in kinds.items()
    }


def _user(username: str, password: str, **fields) -> User:
    """A demo user as the demo describes them (made once; the password set every time)."""
    user, _ = User.objects.get_or_create(
        username=username, defaults={**fields, "email": f"{username}@riverside.example"}
    )
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def _users(units: dict[str, Unit], password: str) -> dict[str, User]:
    users = {
        username: _user(username, password, first_name=first, last_name=last, role=role, unit=units[unit_name])
        for username, first, last, role, unit_name in DEMO_USERS
    }
    users["admin"] = _user("admin", password, first_name="Ada", last_name="Admin", is_staff=True, is_superuser=True)
    # Clinical content owners: a template draft is approved by an admin other than its author,
    # of the template's approver role when it names one (checklists.governance). No unit: they
    # are on no roster and no care team.
    for username, first, last, role in CONTENT_ADMINS:
        users[username] = _user(username, password, first_name=first, last_name=last, role=role, is_staff=True)
    return users


def _patient(spec: DemoPatient, unit: Unit, team: list[User], today: dt.date) -> Patient:
    patient, _ = Patient.objects.get_or_create(
        organisation=unit.organisation,
        mrn=spec.mrn,
        defaults={
            "given_name": spec.given,
            "family_name": spec.family,
            "birth_date": spec.born,
            "sex": spec.sex,
            "weight_kg": Decimal(spec.weight),
            "weight_measured_on": today - dt.timedelta(days=min(3, max(0, -spec.start_offset))),
            "height_cm": Decimal(spec.height),
            "unit": unit,
        },
    )
    for member in team:
        CareTeamMember.objects.get_or_create(patient=patient, user=member, defaults={"role": member.role})
    course, _ = TreatmentCourse.objects.get_or_create(
        patient=patient,
        defaults={
            "indication": spec.indication,
            "regimen_version": RegimenVersion.objects.get(regimen__indication=spec.indication, status="published"),
            "planned_cycles": spec.cycles,
            "start_date": today + dt.timedelta(days=spec.start_offset),
            "bag_hours": spec.bag_hours,
            "outpatient_setting": spec.setting,
        },
    )
    course_schedule_build(course=course)
    _demo_chemotherapy_plan(course)
    return patient


def _demo_chemotherapy_plan(course: TreatmentCourse) -> None:
    """A demo shortcut: the rests that a consolidation course's chemotherapy plan would set,
    written straight into the cycles (the page's "Set when the next cycle starts" does it for real)."""
    while True:
        waiting = course.cycles.filter(rest_days__isnull=True).order_by("number").last()
        if waiting is None or waiting.number >= course.planned_cycles:
            return
        Cycle.objects.filter(pk=waiting.pk).update(rest_days=DEMO_CHEMOTHERAPY_BLOCK_DAYS)
        course_schedule_build(course=course)


def _demo_breaks(users: dict[str, User]) -> None:
    """A short break that moved a plan, and a course stopped for good, through the services."""
    now = timezone.now()
    nurse, oncologist = users["nurse"], users["oncologist"]
    moved = TreatmentCourse.objects.get(patient__mrn="RUH100014")
    if not moved.interruptions.exists():
        stop_at = now - dt.timedelta(days=2, hours=6)
        interruption = interruption_stop(
            course=moved,
            stopped_at=stop_at,
            cause=Interruption.Cause.PUMP_OR_LINE,
            detail="Occlusion alarm at night: the line was checked (never flushed) and the filter replaced.",
            actor=nurse,
            now=stop_at + dt.timedelta(minutes=10),
        )
        interruption_restart(
            interruption=interruption,
            restarted_at=stop_at + dt.timedelta(hours=5),
            actor=oncologist,
            now=stop_at + dt.timedelta(hours=1),
        )


def _stopped_for_grade_4_crs(users: dict[str, User], units: dict[str, Unit]) -> None:
    """Novak's course, stopped for good on the grade 4 CRS that the nurse recorded (and the watch
    alerted on) half an hour before: the patient page shows the assessment beside the stop."""
    stopped = TreatmentCourse.objects.get(patient__mrn="RUH100015")
    if stopped.status == TreatmentCourse.Status.STOPPED:
        return
    now = timezone.now()
    nurse, oncologist = users["nurse"], users["oncologist"]
    _rosters(users, units[WARD], units[AGENCY], now)  # the alert goes to the oncologist on call
    stopped_at = now - dt.timedelta(days=1, hours=3)
    recorded_at = stopped_at - dt.timedelta(minutes=35)
    grade_4 = assessment_record(
        patient=stopped.patient,
        actor=nurse,
        assessed_at=recorded_at - dt.timedelta(minutes=5),
        findings={
            "temperature": Decimal("39.6"),
            "temperature_unit": "C",
            "heart_rate": 134,
            "systolic_bp": 76,
            "diastolic_bp": 42,
            "hypotension": True,
            "vasopressors": Vasopressors.SEVERAL,
            "oxygen_saturation": 88,
            "oxygen_device": OxygenDevice.BIPAP,
            **NORMAL_ICE,
        },
        now=recorded_at,
    )
    assessment_confirm(assessment=grade_4, actor=oncologist, crs_grade=4, icans_grade=0, now=recorded_at)
    alert_acknowledge(
        alert=grade_4.alerts.get(),
        actor=oncologist,
        note="At the bedside: infusion stopped, tocilizumab and dexamethasone given, intensive care called.",
        now=recorded_at + dt.timedelta(minutes=10),
    )
    course_stop_for_good(
        course=stopped,
        stopped_at=stopped_at,
        reason="Grade 4 cytokine release syndrome on day 5 (the label: stop for good)",
        actor=oncologist,
        now=now,
    )


@transaction.atomic
def seed_demo(*, password: str) -> SeedResult:
    regimen_library_seed()
    handoff_action_defaults_seed()
    # Installed by the system (each template's history says so). An existing database gets the
    # library's corrections as drafts, which its content admins submit and approve as any other.
    starter_library_load()
    starter = starter_library_update()
    units = _units()
    users = _users(units, password)
    today = timezone.localtime(timezone.now(), units[WARD].zone).date()
    team = [users[name] for name in WARD_TEAM]
    for spec in DEMO_PATIENTS:
        _patient(spec, units[WARD], team, today)
    _patient(OUTSIDER_PATIENT, units[OTHER_WARD], [users["outsider"]], today)
    _demo_breaks(users)
    _stopped_for_grade_4_crs(users, units)
    _demo_bag(users)
    _demo_bag_waiting(users)
    _settle_past_work(team)
    _report_history(users, units[WARD])
    _handoffs(users, units)
    _toxicity_watch(users, units)
    # Past events get their outcome now, as beat would within EVENT_SETTLE_MINUTES: the demo does
    # not change under its first visitor's eyes.
    events_settle()
    notifications_retire_unseeable()  # as the beat would: the bell counts what the list shows
    return SeedResult(users=len(users), patients=len(DEMO_PATIENTS) + 1, starter=starter)


# Whose next bag change has its bag recorded and the pharmacy's task done ("at home, bag changes").
DEMO_BAG_MRN = "RUH100004"
# Whose next bag change was cancelled after its bag was prepared ("at home, day 20"): the bag waits
# for the pharmacist's decision on her page and the pharmacist's.
DEMO_WAITING_BAG_MRN = "RUH100011"


def _next_bag_change(mrn: str, now: dt.datetime) -> CareEvent | None:
    """The patient's next planned bag change at least 4 hours away, so that its pharmacy task is
    not one of the past work settled below; None once it has a bag (the seed is idempotent)."""
    event = (
        CareEvent.objects.filter(
            patient__mrn=mrn,
            kind=CareEvent.Kind.BAG_CHANGE,
            status=CareEvent.Status.PLANNED,
            planned_at__gt=now + dt.timedelta(hours=4),
        )
        .select_related("patient__unit", "cycle__course")
        .order_by("planned_at")
        .first()
    )
    return None if event is None or bag_for_event(event.pk) is not None else event


def _record_demo_bag(event: CareEvent, users: dict[str, User], now: dt.datetime) -> InfusionBag:
    """The bag of `event` recorded as on the event page, weighed today first (a bag is recorded
    only with today's weighing)."""
    patient, course, pharmacist = event.patient, event.cycle.course, users["pharmacist"]
    weighing_record(
        patient=patient, weight_kg=patient.weight_kg, actor=users["nurse"], measured_at=now, source="Home visit (demo)"
    )
    option = bag_option_for_hours(course.bag_hours)
    following = next_change_after(event)
    comes_down = following.planned_at if following else event.planned_at + dt.timedelta(hours=option.duration_hours)
    return infusion_bag_record(
        event=event,
        option=option,
        dose="28 mcg/day",  # after the step-up (relapsed/refractory) or the flat MRD dose, from 45 kg
        dose_basis=InfusionBag.DoseBasis.WEIGHT,
        volume_ml=option.rate_ml_per_hour * option.duration_hours,
        rate_ml_per_hour=option.rate_ml_per_hour,
        expires_at=comes_down + dt.timedelta(hours=12),
        stabiliser_added=True,
        compounded_by=pharmacist,
        checked_by=users["pharmacist2"],
        actor=pharmacist,
        now=now,
    )


def _demo_bag(users: dict[str, User]) -> None:
    """The pharmacy records the bag of Okafor's next bag change and ticks its task, which is refused
    without the bag (checklists.recorded): the nurse's pump rate there is checked against it."""
    now = timezone.now()
    event = _next_bag_change(DEMO_BAG_MRN, now)
    if event is None:
        return
    _record_demo_bag(event, users, now)
    for task in Task.objects.filter(event=event, records=Task.Records.BAG_PREPARED, status=Task.Status.OPEN):
        task_complete(task=task, actor=users["pharmacist"], value="yes", now=now)


def _demo_bag_waiting(users: dict[str, User]) -> None:
    """Novak's next bag change has its bag prepared, then is cancelled: she is admitted for a night
    and the ward changes the bag. The bag waits for the pharmacist's decision (use it for the next
    change, or return or discard it). Idempotent: once cancelled, her next change is another one,
    and a bag already waiting is enough."""
    now = timezone.now()
    event = _next_bag_change(DEMO_WAITING_BAG_MRN, now)
    if event is None or bags_awaiting_decision(event.patient_id).exists():
        return
    _record_demo_bag(event, users, now)
    event_cancel(event=event, reason="Admitted overnight: the ward changes the bag (demo)", actor=users["nurse"])


def _settle_past_work(team: list[User]) -> None:
    """Past work is done, except the last day's, so the demo shows some overdue tasks.

    A bulk shortcut for demo data only: real completions go through checklists.services.
    """
    now = timezone.now()
    by_role = {}
    for user in team:
        by_role.setdefault(user.role, user)  # nurse completes; nurse2 is left to double-check
    for role, user in by_role.items():
        past = Task.objects.filter(status=Task.Status.OPEN, role=role, due_at__lt=now - dt.timedelta(hours=20))
        # A bag said prepared is ticked only with its bag recorded, as the tracker asks
        # (checklists.recorded); the paper era's bags were not, and are left to the skip below.
        past.filter(records=Task.Records.BAG_PREPARED, event__bags__isnull=False).update(
            status=Task.Status.DONE, value="yes", completed_by=user, completed_at=now
        )
        past.exclude(response_kind__in=["number", "choice", "datetime"]).exclude(
            records=Task.Records.BAG_PREPARED
        ).update(status=Task.Status.DONE, value="yes", completed_by=user, completed_at=now)
        # A hard stop is answered as the record says (the tracker never lets one be skipped).
        for task in past.filter(hard_stop=True).select_related("event__cycle__course", "patient__unit"):
            _answer_as_the_record_says(task, user, now)
        # Never a double check (all of the library's are ticks, done above): one is not skipped.
        past.filter(hard_stop=False, needs_verification=False).update(
            status=Task.Status.NOT_APPLICABLE, not_applicable_reason="Recorded on paper before go-live"
        )
    # Independent checks of the past were done by a second nurse.
    second_nurse = next(user for user in team if user.role == Role.NURSE and user != by_role[Role.NURSE])
    Task.objects.filter(
        status=Task.Status.DONE,
        needs_verification=True,
        verified_by__isnull=True,
        due_at__lt=now - dt.timedelta(hours=20),
    ).update(verified_by=second_nurse, verified_at=now)


def _planned_bag(task: Task):
    """The bag option that the plan hangs at the task's event."""
    course = task.event.cycle.course
    in_hospital = task.event.setting == Setting.INPATIENT
    return bag_option_for_hours(course.inpatient_bag_hours if in_hospital else course.bag_hours)


def _answer_as_the_record_says(task: Task, user: User, now: dt.datetime) -> None:
    """A past hard stop of the demo, answered with what passes it: the first option that does
    not fail, the bag's rate, the patient's weight, a premedication an hour before the start.
    Checked as a real answer is (checklists.recorded), except a rate from before the bags were
    recorded; left open when nothing passes."""
    if task.records == "bag_duration":
        # The option naming the duration of the bag recorded there; of the plan's bag, on paper.
        bag = bag_for_event(task.event_id) or _planned_bag(task)
        value = next((option for option in task.choices if bag_duration_hours(option) == bag.duration_hours), None)
        if value is None:
            return
        if bag_for_event(task.event_id) is None:
            task.status, task.completed_by, task.completed_at = Task.Status.DONE, user, now
            task.value = f"{value} (recorded on paper before go-live)"
            task.save(update_fields=["status", "value", "completed_by", "completed_at"])
            return
    elif task.response_kind == "choice":
        value = next(option for option in task.choices if option not in task.failing_choices)
    elif task.records == "pump_rate":
        # The paper era kept no bag record: the rate of the bag that the plan hangs there.
        bag = bag_for_event(task.event_id)
        if bag is None:
            bag = _planned_bag(task)
            task.status, task.completed_by, task.completed_at = Task.Status.DONE, user, now
            task.value = f"{bag.rate_ml_per_hour.normalize():f} (recorded on paper before go-live)"
            task.save(update_fields=["status", "value", "completed_by", "completed_at"])
            return
        value = f"{bag.rate_ml_per_hour.normalize():f}"
    elif task.records == "weight" and task.patient.weight_kg:
        value = f"{task.patient.weight_kg.normalize():f}"
    elif task.records == "premedication_time":
        value = timezone.localtime(task.event.planned_at - dt.timedelta(hours=1), task.patient.unit.zone).isoformat()
    else:
        return
    value, failed = check_recorded_answer(task, value, now=now)
    if failed:
        return
    task.status, task.value, task.completed_by, task.completed_at = Task.Status.DONE, value, user, now
    task.save(update_fields=["status", "value", "completed_by", "completed_at"])


# --- weeks of history for the Reports page ------------------------------------------------------

DEMO_SNOOZE_REASON = "Waiting for the pharmacy to open (demo history)"


def _spread_minutes(pk: int) -> int:
    """When a settled task was done, from its due time: 7 in 10 early (up to 3 h), 2 a little late
    (up to 4 h), 1 very late (4 to 19 h); by its id, so that every seeding gives the same."""
    if pk % 10 < 7:
        return -(pk * 37 % 180)
    if pk % 10 < 9:
        return pk * 53 % 240 + 5
    return pk * 71 % 900 + 240


def _report_history(users: dict[str, User], ward: Unit) -> None:
    """The past work that `_settle_past_work` marks done at seeding time gets plausible times (most
    on time, some late), with the reminders that late work would have had, a few snoozes and an
    override, so that the coordinator's Reports page has weeks to show. Idempotent: a task is
    rewritten once (after that it is no longer 20 hours late); reminders exist once by their key.
    A bulk shortcut for demo data only."""
    now = timezone.now()
    settled = Task.objects.filter(
        status=Task.Status.DONE,
        value="yes",
        due_at__lt=now - dt.timedelta(hours=20),
        completed_at__gte=models.F("due_at") + dt.timedelta(hours=20),
        patient__unit=ward,
    ).only("pk", "patient", "due_at", "needs_verification", "verified_by", "completed_by")
    tasks = list(settled)
    for task in tasks:
        task.completed_at = task.due_at + dt.timedelta(minutes=_spread_minutes(task.pk))
        if task.verified_by_id:
            task.verified_at = task.completed_at + dt.timedelta(minutes=20)
    Task.objects.bulk_update(tasks, ["completed_at", "verified_at"], batch_size=500)
    late = [task for task in tasks if task.completed_at > task.due_at + dt.timedelta(minutes=30)]
    reminders = []
    for task in late:
        fire_at = task.due_at + dt.timedelta(minutes=30)
        reminders.append(_sent_reminder(Reminder.Kind.OVERDUE, task, task.completed_by_id, fire_at))
        if task.completed_at > task.due_at + dt.timedelta(hours=4):
            fire_at = task.due_at + dt.timedelta(hours=4)
            reminders.append(_sent_reminder(Reminder.Kind.ESCALATION, task, users["coordinator"].pk, fire_at))
    Reminder.objects.bulk_create(reminders, ignore_conflicts=True)
    if late and not TaskSnooze.objects.filter(reason=DEMO_SNOOZE_REASON).exists():
        TaskSnooze.objects.bulk_create(
            TaskSnooze(
                task=task,
                patient_id=task.patient_id,
                until=task.due_at + dt.timedelta(hours=2),
                reason=DEMO_SNOOZE_REASON,
                created_by_id=task.completed_by_id,
                created_at=task.due_at + dt.timedelta(minutes=10),
            )
            for task in late[:: max(1, len(late) // 4)][:4]
        )
    overridden = Checklist.objects.filter(event__patient__unit=ward, overridden_at__isnull=False)
    past = Checklist.objects.filter(
        event__patient__unit=ward, event__kind="cycle_start", event__planned_at__lt=now - dt.timedelta(days=2)
    ).select_related("event")
    first = past.order_by("-event__planned_at").first()
    if first is not None and not overridden.exists():
        first.overridden_by, first.overridden_at = (
            users["oncologist"],
            first.event.planned_at - dt.timedelta(minutes=40),
        )
        first.override_justification = OverrideJustification.DONE_ELSEWHERE
        first.override_reason = "Baseline labs done at the referring hospital; results faxed and reviewed."
        # What it covered: the required tasks still open when it was given (the board counts them;
        # an override covering none reads as one lifted when its event moved).
        required = first.tasks.filter(required=True).order_by("pk")
        covered = required.filter(completed_at__gt=first.overridden_at) or required[:1]
        first.overridden_blockers = [blocker_key(task.pk, "open") for task in covered]
        first.save(
            update_fields=[
                "overridden_by",
                "overridden_at",
                "override_justification",
                "override_reason",
                "overridden_blockers",
            ]
        )


def _sent_reminder(kind: str, task: Task, recipient_id: int, fire_at: dt.datetime) -> Reminder:
    sent_at = fire_at + dt.timedelta(minutes=task.pk % 5 + 1)
    return Reminder(
        kind=kind,
        target=f"task:{task.pk}",
        recipient_id=recipient_id,
        task=task,
        due_at=task.due_at,
        fire_at=fire_at,
        created_at=fire_at,
        dispatch_after=fire_at,
        state=Reminder.State.SENT,
        sent_at=sent_at,
        notified_at=sent_at,
        channels=["in_app"],
    )


# --- handoffs -----------------------------------------------------------------------------------

# (MRN, status, the discharge: "next" or "last", hours from now that it was sent, story for the summary)
DEMO_HANDOFFS = [
    ("RUH100001", Handoff.Status.DRAFT, "next", None, "Cycle 1 starts tomorrow; home on day 10 if all goes well."),
    ("RUH100002", Handoff.Status.RETURNED, "next", -26, "Inpatient day 5 of 9, no CRS so far, neuro checks normal."),
    ("RUH100008", Handoff.Status.SENT, "next", -5, "Cycle 2 starts in 2 days; home after 2 inpatient days."),
    ("RUH100009", Handoff.Status.ACKNOWLEDGED, "next", -3, "Cycle 2 day 1 in hospital; cycle 1 went without CRS."),
    ("RUH100003", Handoff.Status.ACCEPTED, "next", -24, "MRD-positive, cycle 1 day 3, no CRS, no neurotoxicity."),
    ("RUH100004", Handoff.Status.COMPLETED, "last", -7 * 24, "Relapsed ALL, grade 1 CRS on day 2, resolved."),
    ("RUH100011", Handoff.Status.COMPLETED, "last", -17 * 24, "MRD-positive, 72-hour bags, uneventful start."),
]
SIGNED_OFF = {"RUH100011"}


def _handoffs(users: dict[str, User], units: dict[str, Unit]) -> None:
    """Handoffs of the ward to HomeCare Infusion in every state, `homenurse` on the receiving side.
    Made through the services, with the times they would have had; a patient that has one keeps it."""
    team = {
        role: users[name]
        for name, role in [
            ("pharmacist", "pharmacist"),
            ("nurse", "nurse"),
            ("oncologist", "oncologist"),
            ("casemanager", "case_manager"),
        ]
    }
    sender, receiver, coordinator = users["casemanager"], users["homenurse"], users["coordinator"]
    agency = units[AGENCY]
    now = timezone.now()
    for mrn, status, which, sent_hours, story in DEMO_HANDOFFS:
        patient = Patient.objects.get(mrn=mrn, organisation=agency.organisation)
        if Handoff.objects.filter(patient=patient).exists():
            continue
        discharges = CareEvent.objects.filter(patient=patient, kind=CareEvent.Kind.DISCHARGE_HOME).select_related(
            "cycle__course"
        )
        event = (
            discharges.filter(planned_at__gt=now).order_by("planned_at").first()
            if which == "next"
            else discharges.filter(planned_at__lte=now).order_by("-planned_at").first()
        )
        if event is None:
            continue
        course = event.cycle.course
        content = HandoffContent(
            kind=Handoff.Kind.HOSPITAL_HOME,
            to_unit=agency,
            to_person=receiver,
            illness_severity=Handoff.Severity.WATCHER if event.cycle.number == 1 else Handoff.Severity.STABLE,
            patient_summary=f"{patient.full_name}, {patient.age} years. {story}",
            situation_awareness="Lives with a partner who is the caregiver and did the teach-back.",
            contingency_plan=DEFAULT_CONTINGENCY,
            pump=f"CADD-Solis VIP, {course.bag_hours}-hour bags, programmed from the pharmacy label, locked",
            line="PICC, right arm, dedicated lumen; labelled do not flush",
            actions=default_actions(event),
        )
        sent_at = now + dt.timedelta(hours=sent_hours) if sent_hours is not None else now
        handoff = handoff_create(event=event, content=content, actor=sender, now=sent_at - dt.timedelta(hours=2))
        if status == Handoff.Status.DRAFT:
            continue
        _complete_checklist(event, team, verifier=users["nurse2"], at=sent_at - dt.timedelta(hours=1))
        handoff_send(handoff=handoff, actor=sender, now=sent_at)
        if status == Handoff.Status.SENT:
            continue
        if status == Handoff.Status.RETURNED:
            handoff_return(
                handoff=handoff,
                actor=receiver,
                reason="Which pump goes home, and where is the bag-change calendar? Please add both.",
                now=sent_at + dt.timedelta(hours=2),
            )
            continue
        handoff_acknowledge(handoff=handoff, actor=receiver, now=sent_at + dt.timedelta(minutes=35))
        if status == Handoff.Status.ACKNOWLEDGED:
            continue
        handoff_accept(
            handoff=handoff,
            actor=receiver,
            synthesis="Going home on a running pump; we call the caregiver on arrival, visit the next morning, "
            "and change the first bag at home. Fever of 38.0 °C or more, or new confusion: the ward's 24/7 number.",
            now=sent_at + dt.timedelta(hours=2),
        )
        if status == Handoff.Status.ACCEPTED:
            continue
        # The first home visit when it was due (after the discharge, before the first bag change).
        first_visit = handoff.first_visit_action().due_at
        for action in handoff.actions.filter(role=receiver.role, due_at__lte=first_visit):
            handoff_action_complete(action=action, actor=receiver, now=first_visit)
        handoff_complete(handoff=handoff, actor=receiver, first_visit_at=first_visit, now=first_visit)
        if mrn in SIGNED_OFF:
            handoff_comment(handoff=handoff, actor=coordinator, text="Acknowledged in 35 minutes, accepted in 2 hours.")
            handoff_sign_off(handoff=handoff, actor=coordinator, now=first_visit + dt.timedelta(days=1))


def _complete_checklist(event: CareEvent, team: dict[str, User], *, verifier: User, at: dt.datetime) -> None:
    """The discharge checklist done through the services, as the ward would before sending."""
    for _ in range(10):  # dependencies first: a few passes
        waiting = 0
        # A double check done releases what waits for it (Task.releases_dependents).
        for task in Task.objects.filter(
            event=event, status=Task.Status.DONE, needs_verification=True, verified_by=None
        ):
            task_verify(task=task, actor=verifier, now=at)
        for task in Task.objects.filter(event=event, status=Task.Status.OPEN).order_by("order"):
            if not all(dependency.releases_dependents for dependency in task.depends_on.all()):
                waiting += 1
                continue
            task_complete(task=task, actor=team[task.role], value=_demo_answer(task), now=at)
        if not waiting:
            break
    for task in Task.objects.filter(event=event, status=Task.Status.DONE, needs_verification=True, verified_by=None):
        task_verify(task=task, actor=verifier, now=at)


def _demo_answer(task: Task) -> str:
    if task.response_kind == "choice":
        return next(choice for choice in task.choices if choice not in task.failing_choices)
    if task.response_kind == "number":
        return str(task.min_value if task.min_value is not None else task.max_value or 1)
    return {"attestation": ATTESTATION_VALUE, "text": "Done"}.get(task.response_kind, "yes")


# --- the toxicity watch ---------------------------------------------------------------------------

NORMAL_ICE = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1, "ice_attention": 1}
CONTACTS = {
    WARD: ("+1 617 555 0170", "+1 617 555 0199"),
    AGENCY: ("+1 617 555 0180", "+1 617 555 0199"),
}
CAREGIVERS = {"RUH100003": ("Marc Dubois", "+1 617 555 0143"), "RUH100004": ("Maria Rossi", "+1 617 555 0121")}
# Who is at home with a running pump: Lindqvist ("at home, 7-day bags", discharged after cycle 1's
# three inpatient days). Not Dubois, who is on the ward until tomorrow's discharge (her accepted
# handoff's tasks wait for it), nor Okafor, whose next bag is recorded for its change (a pump stop
# would move that change). The ward's night nurse takes the caregiver's call and does the
# morning's home check by phone: no agency has a window on her.
AT_HOME_MRN = "RUH100005"


def _last_night(zone, now: dt.datetime, hour: int, minute: int) -> dt.datetime:
    """The latest `hour`:`minute` on the unit's clock at least two hours before now (last night's,
    or this night's): what the demo has follow it (a restart 20 minutes later, a check) has
    happened too, whenever the demo is seeded (it failed when seeded at 02:50, ten minutes after
    an alarm whose restart would then have been in the future)."""
    local = timezone.localtime(now, zone)
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at <= local - dt.timedelta(hours=2) else at - dt.timedelta(days=1)


def _toxicity_watch(users: dict[str, User], units: dict[str, Unit]) -> None:
    """Rosters for the ward and the agency, assessments of several grades (one with an open urgent
    alert, one acknowledged), a pump alarm at night and a home check with a red flag."""
    for name, (day_and_night, on_call) in CONTACTS.items():
        Unit.objects.filter(pk=units[name].pk, phone_24h="").update(phone_24h=day_and_night, on_call_phone=on_call)
    for mrn, (name, phone) in CAREGIVERS.items():
        Patient.objects.filter(mrn=mrn, caregiver_name="").update(caregiver_name=name, caregiver_phone=phone)
    inpatient = Patient.objects.get(mrn="RUH100002")
    if Assessment.objects.filter(patient=inpatient).exists():
        return  # seeded before (Novak's grade 4 CRS comes with his stop: _stopped_for_grade_4_crs)
    now = timezone.now()
    ward, agency = units[WARD], units[AGENCY]
    _rosters(users, ward, agency, now)
    nurse, oncologist = users["nurse"], users["oncologist"]
    night = _last_night(ward.zone, now, 2, 10)

    # Inpatient day 5: grade 1 CRS yesterday evening (confirmed), then an ICE of 6 at night.
    evening = assessment_record(
        patient=inpatient,
        actor=nurse,
        assessed_at=night - dt.timedelta(hours=6),
        findings={"temperature": Decimal("38.3"), "temperature_unit": "C", "heart_rate": 104, **NORMAL_ICE},
        now=now,
    )
    assessment_confirm(assessment=evening, actor=oncologist, crs_grade=1, icans_grade=0, now=now)
    assessment_record(
        patient=inpatient,
        actor=nurse,
        assessed_at=night,
        findings={
            "temperature": Decimal("37.6"),
            "temperature_unit": "C",
            **NORMAL_ICE,
            "ice_orientation": 2,
            "ice_naming": 2,
            "ice_writing": 0,
            "handwriting_note": "Letters larger, words missing from the sentence",
            "consciousness": Consciousness.ALERT,
        },
        now=night + dt.timedelta(minutes=8),  # recorded at the bedside: the alert is raised then
    )  # ICANS grade 2: an urgent alert, left open for the demo

    # Cycle 2 day 1: CRS grade 2 (fever and oxygen), acknowledged by the oncologist on call.
    second = Patient.objects.get(mrn="RUH100009")
    crs = assessment_record(
        patient=second,
        actor=nurse,
        assessed_at=now - dt.timedelta(hours=3),
        findings={
            "temperature": Decimal("102.2"),
            "temperature_unit": "F",
            "oxygen_saturation": 92,
            "oxygen_device": OxygenDevice.NASAL_CANNULA,
            "oxygen_flow_l_min": Decimal("2"),
            **NORMAL_ICE,
        },
        now=now,
    )
    alert_acknowledge(alert=crs.alerts.get(), actor=oncologist, note="Seen at the bedside; fluids and paracetamol.")

    # At home: an occlusion alarm at night reported by the caregiver, and a home check with a red flag.
    home = Patient.objects.get(mrn=AT_HOME_MRN)
    alarm = _last_night(ward.zone, now, 2, 40)
    pump_event_record(
        patient=home,
        actor=nurse,
        kind=PumpEvent.Kind.OCCLUSION_ALARM,
        occurred_at=alarm,
        reported_by=PumpEvent.Reporter.CAREGIVER,
        volume_left_ml=Decimal("96"),
        action_taken="Clamp left closed after a dressing change; opened by phone, pump restarted.",
        infusion_stopped_at=alarm,
        infusion_restarted_at=alarm + dt.timedelta(minutes=20),
        now=now,
    )
    check_in_record(
        patient=home,
        actor=nurse,
        checked_at=min(now, alarm + dt.timedelta(hours=7)),
        temperature=Decimal("37.4"),
        temperature_unit="C",
        pump_status="running",
        signs=["headache", "loss_of_balance"],
        note="Unsteady when getting up this morning; her caregiver stays with her.",
        now=now,
    )


def _rosters(users: dict[str, User], ward: Unit, agency: Unit, now: dt.datetime) -> None:
    """The ward's on-call roster from yesterday 08:00 for a week: first and second call, the
    coordinator; the agency's on-call nurse (the agency has no coordinator: a demo shortcut)."""
    if OnCallShift.objects.exists():
        return
    start = timezone.localtime(now, ward.zone).replace(hour=8, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    end = start + dt.timedelta(days=8)
    for role, rank, person in (
        (Role.ONCOLOGIST, 1, users["oncologist"]),
        (Role.ONCOLOGIST, 2, users["oncologist2"]),
        (Role.COORDINATOR, 1, users["coordinator"]),
    ):
        roster_replace(
            unit=ward,
            role=role,
            rank=rank,
            period_start=start,
            period_end=end,
            shifts=[ShiftInput(person, start, end)],
            actor=users["coordinator"],
        )
    OnCallShift.objects.create(
        unit=agency,
        role=Role.NURSE,
        rank=1,
        user=users["homenurse"],
        starts_at=start,
        ends_at=end,
        created_by=users["coordinator"],
    )
