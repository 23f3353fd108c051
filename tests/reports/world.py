"""A unit with known history for the report's tests: each number of every table is worked out by
hand in the comments of test_numbers.py. The clock stands at NOW (noon in New York, after the
change to summer time on 8 March 2026); the last 30 days are 19 Feb to 20 Mar 2026."""

import datetime as dt
import itertools
import zoneinfo

from django.utils import timezone

from accounts.models import Role
from checklists.models import Checklist, OverrideJustification, Task
from checklists.services import checklists_instantiate
from coordination.handoffs.models import Handoff, HandoffActivity
from coordination.reminders.models import Reminder, TaskSnooze
from patients.models import Assessment, CareEvent, Cycle, Interruption, PumpEvent

from ..checklists.helpers import make_cycle, make_event, publish_template
from ..coordination.handoff_helpers import make_agency, make_home_nurse, write_handoff
from ..factories import PatientFactory, UserFactory

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=NEW_YORK)


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A moment of 2026 on the ward's clock."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK)


H = dt.timedelta(hours=1)
MIN = dt.timedelta(minutes=1)


def _tasks(event) -> dict[str, Task]:
    return {task.text: task for task in Task.objects.filter(event=event)}


def _done(task: Task, when: dt.datetime, by) -> None:
    Task.objects.filter(pk=task.pk).update(status=Task.Status.DONE, completed_at=when, completed_by=by)


def build_world(ward, coordinator):
    """Everything test_numbers.py counts, on `ward`; plus noise on another ward that must not count."""
    nurse = UserFactory(username="report-nurse", role=Role.NURSE, unit=ward)
    pharmacist = UserFactory(username="report-pharmacist", role=Role.PHARMACIST, unit=ward)
    smith = UserFactory(username="smith", first_name="Ann", last_name="Smith", role=Role.ONCOLOGIST, unit=ward)
    jones = UserFactory(username="jones", first_name="Bob", last_name="Jones", role=Role.ONCOLOGIST, unit=ward)
    publish_template(items=[{"text": "Weight"}, {"text": "Order verified", "role": "pharmacist"}])
    publish_template(name="Bag change", trigger_kind=CareEvent.Kind.BAG_CHANGE, items=[{"text": "Bag label checked"}])
    p1, p2 = PatientFactory(unit=ward), PatientFactory(unit=ward)

    # Readiness and on time. E6 lies before the period; E5 after now.
    e1 = make_event(p1, planned_at=at(3, 2, 9))
    e2 = make_event(p1, planned_at=at(3, 7, 23, 30))
    e3 = make_event(p1, planned_at=at(3, 15, 22))
    e4 = make_event(p1, kind=CareEvent.Kind.BAG_CHANGE, planned_at=at(3, 18, 10))
    e5 = make_event(p1, planned_at=at(3, 21, 9))
    e6 = make_event(p2, planned_at=at(2, 8, 9))
    checklists_instantiate(events=[e1, e2, e3, e4, e5, e6])
    t1, t2, t3, t4, t6 = (_tasks(event) for event in (e1, e2, e3, e4, e6))
    _done(t1["Weight"], e1.planned_at - H, nurse)
    _done(t1["Order verified"], e1.planned_at - 2 * H, pharmacist)
    _done(t2["Weight"], e2.planned_at + H, nurse)  # late by 60 min, past midnight on 7 March
    _done(t2["Order verified"], e2.planned_at - H, pharmacist)
    _done(t3["Weight"], e3.planned_at + 3 * H, nurse)  # late by 180 min; the order stays open
    _done(t4["Bag label checked"], e4.planned_at - 30 * MIN, nurse)
    _done(t6["Weight"], e6.planned_at - H, nurse)
    _done(t6["Order verified"], at(2, 20, 12), pharmacist)  # open overdue at the end of 19 Feb
    # E3 overridden before its start by Smith, over both tasks open then; E2 after its start by
    # Jones (it stays "not ready").
    Checklist.objects.filter(event=e3).update(
        overridden_by=smith,
        overridden_at=e3.planned_at - H,
        override_reason="Patient deteriorating, start now",
        override_justification=OverrideJustification.CLINICAL_URGENCY,
        overridden_blockers=sorted(f"{task.pk}:open" for task in t3.values()),
    )
    Checklist.objects.filter(event=e2).update(
        overridden_by=jones,
        overridden_at=e2.planned_at + 2 * H,
        override_reason="Weighed on paper",
        override_justification=OverrideJustification.DONE_ELSEWHERE,
    )

    # Handoffs: three sent by the ward, one received from the agency.
    agency = make_agency(ward)
    home_nurse = make_home_nurse(agency)
    cycle = e1.cycle

    def handoff(from_unit, to_unit, sent, **fields):
        discharge = CareEvent.objects.create(
            patient=p1,
            cycle=cycle,
            kind=CareEvent.Kind.DISCHARGE_HOME,
            sequence=Handoff.objects.count() + 1,
            planned_at=sent,
        )
        return write_handoff(
            discharge,
            sender=nurse,
            from_unit=from_unit,
            to_unit=to_unit,
            sent_at=sent,
            acknowledge_by=sent + 4 * H,
            **fields,
        )

    s1, s2, s3, s4 = at(3, 10, 10), at(3, 12, 10), at(3, 19, 10), at(3, 14, 8)
    h1 = handoff(
        ward, agency, s1, status="accepted", acknowledged_at=s1 + 2 * H, accepted_at=s1 + 5 * H, synthesis="Ok"
    )
    handoff(ward, agency, s2, status="accepted", acknowledged_at=s2 + 6 * H, accepted_at=s2 + 10 * H, synthesis="Ok")
    handoff(ward, agency, s3, status="sent")  # still waiting, its deadline passed
    handoff(agency, ward, s4, status="acknowledged", acknowledged_at=s4 + H)
    HandoffActivity.objects.create(
        handoff=h1, actor=home_nurse, action="return", at=at(3, 9, 15), detail="Dose missing"
    )
    HandoffActivity.objects.create(handoff=h1, actor=home_nurse, action="return", at=at(1, 9, 15), detail="Too old")

    # Reminders to the ward's nurse and coordinator; snoozes of the open order.
    targets = itertools.count(1)

    def reminder(kind, recipient, fire, state, sent_after=None):
        return Reminder.objects.create(
            kind=kind,
            target=f"task:{next(targets)}",
            recipient=recipient,
            due_at=fire,
            fire_at=fire,
            dispatch_after=fire,
            state=state,
            sent_at=fire + sent_after if sent_after is not None else None,
        )

    reminder("overdue", nurse, at(3, 10, 10), "sent", 2 * MIN)
    reminder("overdue", nurse, at(3, 11, 10), "sent", 10 * MIN)
    reminder("overdue", nurse, at(3, 12, 10), "failed")
    reminder("escalation", coordinator, at(3, 12, 11), "sent", MIN)
    reminder("overdue", nurse, at(1, 12, 10), "sent", MIN)  # before the period
    order = t3["Order verified"]
    TaskSnooze.objects.create(
        task=order, patient=p1, until=at(3, 16, 12), reason="Pharmacy closed", created_by=nurse, created_at=at(3, 16, 8)
    )
    TaskSnooze.objects.create(
        task=order,
        patient=p1,
        until=at(3, 17, 12),
        reason="Still closed",
        created_by=nurse,
        created_at=at(3, 17, 8),
        ended_at=at(3, 17, 9),
        ended_by=nurse,
    )

    # Interruptions, assessments, pump events on p1's course (cycle 1 from 20 Feb, cycle 2 from 10 Mar).
    cycle1 = make_cycle(p1, start_date=dt.date(2026, 2, 20))
    course1 = cycle1.course
    Cycle.objects.create(course=course1, number=2, phase=Cycle.Phase.INDUCTION, start_date=dt.date(2026, 3, 10))
    for stopped, restarted, cause in (
        (at(3, 5, 10), at(3, 5, 12), "adverse_reaction"),
        (at(3, 10, 10), at(3, 11, 16), "adverse_reaction"),
        (at(3, 16, 3), None, "pump_or_line"),
    ):
        Interruption.objects.create(
            patient=p1,
            course=course1,
            cycle=cycle1,
            stopped_at=stopped,
            restarted_at=restarted,
            cause=cause,
            stopped_by=nurse,
        )
    p2_cycle = make_cycle(p2, start_date=dt.date(2026, 2, 25))

    def assessment(patient, course, when, crs, icans, confirmed_crs=None):
        Assessment.objects.create(
            patient=patient,
            course=course,
            assessed_at=when,
            recorded_by=nurse,
            crs_grade=crs,
            crs_rule="-",
            icans_grade=icans,
            icans_rule="-",
            confirmed_crs_grade=confirmed_crs,
            confirmed_icans_grade=icans if confirmed_crs is not None else None,
            confirmed_at=when if confirmed_crs is not None else None,
            confirmed_by=smith if confirmed_crs is not None else None,
        )

    assessment(p1, course1, at(3, 1, 9), 1, 0)
    assessment(p1, course1, at(3, 2, 9), 2, 1, confirmed_crs=3)
    assessment(p1, course1, at(3, 12, 9), 0, 0)
    assessment(p2, p2_cycle.course, at(3, 3, 9), 0, 0)
    for when, out_of_hours in ((at(3, 16, 3), True), (at(3, 17, 3, 40), True), (at(3, 17, 14), False)):
        PumpEvent.objects.create(
            patient=p1,
            course=course1,
            kind="occlusion_alarm",
            occurred_at=when,
            reported_by="nurse",
            action_taken="Cleared",
            recorded_by=nurse,
            out_of_hours=out_of_hours,
        )

    # Noise: another ward's patient with an overridden, late event in the period.
    other = PatientFactory()
    noise = make_event(other, planned_at=at(3, 10, 9))
    checklists_instantiate(events=[noise])
    Checklist.objects.filter(event=noise).update(overridden_by=smith, overridden_at=at(3, 10, 8), override_reason="x")
    del e5
    return {"now": timezone.now()}
