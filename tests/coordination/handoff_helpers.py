"""Builders for the handoff tests: a receiving agency, a planned discharge with its
hospital-to-home checklist, the checklist done, a handoff ready to send, and the pump programmed
at the start of the discharge's cycle."""

import datetime as dt

import time_machine
from django.utils import timezone

from accounts.models import Role, Unit
from checklists.models import Task, TemplateItem
from checklists.services import checklists_instantiate, task_complete, task_verify
from coordination.handoffs.models import Handoff
from coordination.handoffs.services import ActionSpec, HandoffContent, handoff_action_complete, handoff_create
from patients.models import BagOption, CareEvent, Cycle, InfusionBag
from patients.services import infusion_bag_record, weighing_record

from ..checklists.helpers import make_event, publish_template
from ..factories import UnitFactory, UserFactory

# The hospital-to-home checklist, in short (the starter library's is longer).
TRANSITION_ITEMS = [
    {"text": "Pump programming verified", "needs_verification": True, "verifier_role": "nurse"},
    {"text": "Bag-change calendar handed over", "role": "case_manager"},
    {"text": "Supplies delivered", "role": "case_manager"},
    {"text": "Caregiver teach-back done"},
    {"text": "First home visit booked", "role": "case_manager"},
    {"text": "Next clinic appointment booked", "role": "case_manager"},
    {"text": "24/7 contact given", "role": "case_manager"},
    {"text": "Take-home leaflet given", "role": "case_manager", "required": False},
]
# The start of a cycle as far as the pump goes: the rate entered (recorded, and checked against the
# bag), then the programming double-checked by a second nurse.
PUMP_RATE = "Pump rate entered (mL/h)"
PUMP_CHECK = "Pump programmed at the label rate and locked; independent double-check"
PUMP_ITEMS = [
    {
        "text": PUMP_RATE,
        "response_kind": "number",
        "unit": "mL/h",
        "min_value": 0.1,
        "max_value": 20,
        "records": TemplateItem.Records.PUMP_RATE,
    },
    {"text": PUMP_CHECK, "needs_verification": True, "verifier_role": "nurse"},
]
SYNTHESIS = "Stable on day 4, 48-hour bags at 5 mL/h; we visit tomorrow 10:00 and change the bag on day 5."


def make_agency(ward, name: str = "HomeCare Infusion") -> Unit:
    return UnitFactory(name=name, organisation=ward.organisation, kind=Unit.Kind.HOME_HEALTH, time_zone=ward.time_zone)


def make_home_nurse(agency, username: str = "homenurse", role: str = Role.NURSE):
    return UserFactory(username=username, role=role, unit=agency)


def publish_transition_template():
    return publish_template(
        items=TRANSITION_ITEMS, name="Hospital-to-home transition", trigger_kind=CareEvent.Kind.DISCHARGE_HOME
    )


def make_discharge(patient, *, hours_ahead: float = 20, with_bag_changes: bool = True) -> CareEvent:
    """A planned discharge home on day 4 of cycle 1 (and bag changes at home after it)."""
    planned_at = timezone.now() + dt.timedelta(hours=hours_ahead)
    day_one = timezone.localtime(planned_at, patient.unit.zone).date() - dt.timedelta(days=3)
    event = make_event(patient, kind=CareEvent.Kind.DISCHARGE_HOME, planned_at=planned_at, start_date=day_one)
    Cycle.objects.filter(pk=event.cycle_id).update(inpatient_days=3)
    event.cycle.refresh_from_db()
    if with_bag_changes:
        for n, hours in enumerate((24, 72, 120), start=1):
            CareEvent.objects.create(
                patient=patient,
                cycle=event.cycle,
                kind=CareEvent.Kind.BAG_CHANGE,
                sequence=n,
                setting="home",
                planned_at=planned_at + dt.timedelta(hours=hours),
            )
    checklists_instantiate(events=[event])
    return event


def program_pump(discharge: CareEvent, *, nurse, pharmacist, checker=None) -> Task:
    """The start of the discharge's cycle with its bag recorded by `pharmacist`, the pump rate
    entered by `nurse` and, with a `checker`, the programming double-checked by them. Returns
    the pump rate's task."""
    patient, cycle = discharge.patient, discharge.cycle
    publish_template(items=PUMP_ITEMS, name="Cycle start", dependencies=[(PUMP_CHECK, PUMP_RATE)])
    start_at = timezone.make_aware(dt.datetime.combine(cycle.start_date, dt.time(9)), patient.unit.zone)
    start = make_event(patient, kind=CareEvent.Kind.CYCLE_START, planned_at=start_at, cycle=cycle)
    checklists_instantiate(events=[start])
    weighing_record(patient=patient, weight_kg=patient.weight_kg, actor=nurse)
    option = BagOption.objects.filter(active=True).order_by("-duration_hours").first()  # it lasts to the change
    infusion_bag_record(
        event=start,
        option=option,
        dose="9 mcg/day",
        dose_basis=InfusionBag.DoseBasis.WEIGHT,
        volume_ml=240,
        rate_ml_per_hour=option.rate_ml_per_hour,
        expires_at=timezone.now() + dt.timedelta(days=7),
        stabiliser_added=True,
        compounded_by=pharmacist,
        checked_by=UserFactory(username="pharmacist2", role=Role.PHARMACIST, unit=patient.unit),
        actor=pharmacist,
    )
    rate = task_complete(
        task=Task.objects.get(event=start, text=PUMP_RATE), actor=nurse, value=f"{option.rate_ml_per_hour:f}"
    )
    check = task_complete(task=Task.objects.get(event=start, text=PUMP_CHECK), actor=nurse, value="on")
    if checker is not None:
        task_verify(task=check, actor=checker)
    return rate


def answer(task: Task) -> str:
    return {"number": str(task.min_value or 1), "text": "Done", "attestation": "attested"}.get(
        task.response_kind, task.choices[0] if task.choices else "on"
    )


def complete_checklist(event: CareEvent, *, workers: dict, verifier, leave_open=()) -> None:
    """Every task of the event done by the worker of its role (verified by `verifier`), in
    dependency order, except the texts in `leave_open`."""
    remaining = list(Task.objects.filter(event=event, status=Task.Status.OPEN).exclude(text__in=leave_open))
    for _ in range(len(remaining) + 1):
        if not remaining:
            break
        waiting = []
        for task in remaining:
            if task.depends_on.exclude(status__in=["done", "not_applicable"]).exists():
                waiting.append(task)
                continue
            task_complete(task=task, actor=workers[task.role], value=answer(task))
        remaining = waiting
    for task in Task.objects.filter(event=event, status="done", needs_verification=True, verified_by__isnull=True):
        task_verify(task=task, actor=verifier)


def content(to_unit, **changes) -> HandoffContent:
    now = timezone.now()
    values = {
        "kind": "hospital_home",
        "to_unit": to_unit,
        "illness_severity": "stable",
        "patient_summary": "58-year-old, MRD-positive ALL, cycle 1 day 4, no CRS, no neurotoxicity.",
        "situation_awareness": "Lives with her husband, who is the caregiver.",
        "contingency_plan": "Fever above 38.5 °C or new confusion: call the ward's 24/7 number.",
        "pump": "CADD-Solis, 5 mL/h, 48-hour bag, locked",
        "line": "PICC right arm, dedicated lumen, do not flush",
        "actions": [
            ActionSpec("First home visit", Role.NURSE, now + dt.timedelta(hours=30)),
            ActionSpec("Call the caregiver", Role.CASE_MANAGER, now + dt.timedelta(hours=24)),
        ],
    }
    values.update(changes)
    return HandoffContent(**values)


def home_bag_change_after(discharge) -> CareEvent:
    """A bag change at home the day after the discharge: an event of the patient that no handoff
    belongs to."""
    return CareEvent.objects.create(
        patient=discharge.patient,
        cycle=discharge.cycle,
        kind=CareEvent.Kind.BAG_CHANGE,
        sequence=1,
        setting="home",
        planned_at=discharge.planned_at + dt.timedelta(days=1),
    )


def draft_handoff(event, sender, to_unit, **changes):
    return handoff_create(event=event, content=content(to_unit, **changes), actor=sender)


def form_data(event, agency, **changes) -> dict:
    """A valid POST of the handoff form for `event` to `agency`, with `changes`."""
    data = {
        "event": event.pk,
        "kind": "hospital_home",
        "to_unit": agency.pk,
        "to_person": "",
        "illness_severity": "watcher",
        "patient_summary": "Cycle 1 day 4, no CRS.",
        "pump": "CADD-Solis 5 mL/h",
        "line": "PICC right arm",
        "situation_awareness": "",
        "contingency_plan": "Fever above 38.5 °C: call the ward.",
        "actions-TOTAL_FORMS": "2",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "20",
        "actions-0-text": "First home visit",
        "actions-0-role": "nurse",
        "actions-0-due_at": (
            timezone.localtime(event.planned_at, event.patient.unit.zone) + dt.timedelta(days=1)
        ).strftime("%Y-%m-%dT%H:%M"),
        "actions-1-text": "",
        "actions-1-role": "",
        "actions-1-due_at": "",
    }
    data.update(changes)
    return data


def ready_discharge(patient, *, nurse, nurse2, case_manager) -> CareEvent:
    """A planned discharge whose transition checklist is all done: a handoff may be sent."""
    publish_transition_template()
    event = make_discharge(patient)
    complete_checklist(event, workers={"nurse": nurse, "case_manager": case_manager}, verifier=nurse2)
    return event


def write_handoff(event: CareEvent, *, sender, to_unit, from_unit=None, **fields):
    """A handoff of `event` written directly, for tests of what reads handoffs (the handoff services
    have their own tests): from the patient's unit unless `from_unit` says otherwise; `fields` set
    its status, times and anything else."""
    fields.setdefault("patient_summary", "Summary")
    fields.setdefault("contingency_plan", "Call the ward")
    return Handoff.objects.create(
        patient=event.patient,
        course=event.cycle.course,
        cycle=event.cycle,
        event=event,
        from_unit=from_unit or event.patient.unit,
        from_person=sender,
        to_unit=to_unit,
        created_by=sender,
        **fields,
    )


def first_visit_done(handoff, nurse, **kwargs):
    """The receiving nurse marks the first home visit's action done (completing waits for it)."""
    return handoff_action_complete(action=handoff.first_visit_action(), actor=nurse, **kwargs)


def at_home(handoff, hours: float = 6):
    """The clock `hours` after the handoff's discharge (ticking): the patient has left the ward, so
    the receiving side's actions due within its margin may be marked done and the first home
    visit recorded (policy.can_mark_action_done); and no earlier than 6 hours before the first home
    visit's action is due (within the receiving unit's 12 hours)."""
    at = handoff.event.planned_at + dt.timedelta(hours=hours)
    visit = handoff.first_visit_action()
    if visit is not None:
        at = max(at, visit.due_at - dt.timedelta(hours=6))
    return time_machine.travel(at, tick=True)
