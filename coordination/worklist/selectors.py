"""Reads for the coordination pages, with their relations loaded: a constant number of queries."""

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count, F, Prefetch, Q, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Role
from checklists.gate import checklist_readiness, event_readiness
from checklists.models import EVENT_OVER, Checklist, Task
from checklists.selectors import checklists_with_gate_tasks
from patients.models import CareEvent, CareTeamMember, Cycle, Interruption, Patient, TreatmentCourse
from patients.selectors import names


def patient_page(patient: Patient) -> Patient:
    """The patient, as `get_patient_for_user` read them, given their care team, courses, breaks and
    cycles (each with how many events it has), with the columns the page prints; the events come
    apart, for the cycles the page opens (`cycle_event_rows`)."""
    live = ~Q(events__status=CareEvent.Status.CANCELLED)
    cycles = Cycle.objects.order_by("number").annotate(event_count=Count("events", filter=live))
    version = [f"regimen_version__{field}" for field in ("number", "source", "max_cycles", "step_up_day")]
    courses = (
        TreatmentCourse.objects.select_related("regimen_version__regimen")
        .only(
            *("patient_id", "regimen", "indication", "planned_cycles", "start_date", "status", "bag_hours"),
            "inpatient_bag_hours",
            *("outpatient_setting", *version, "regimen_version__supervised_restart_after_hours"),
            "regimen_version__regimen__name",
        )
        .prefetch_related(
            Prefetch("cycles", queryset=cycles),
            Prefetch(
                "interruptions",
                queryset=Interruption.objects.select_related(
                    "cycle", "stopped_by", "restarted_by", "restart_event"
                ).only(
                    *("course_id", "stopped_at", "cause", "detail", "toxicity_grade", "toxicity_kind"),
                    *("resolved_at", "restarted_at", "restart_dose", "new_cycle", "permanent", "cycle__number"),
                    "restart_event__status",  # whether a planned restart may still be moved
                    *names("stopped_by", "restarted_by"),
                ),
            ),
        )
    )
    care_team = CareTeamMember.objects.who_count().select_related("user").only("patient_id", "role", *names("user"))
    prefetch_related_objects(
        [patient], Prefetch("care_team", queryset=care_team), Prefetch("courses", queryset=courses)
    )
    return patient


def current_cycle(cycles: list[Cycle], now: dt.datetime) -> Cycle | None:
    """The cycle a reader of the patient page is working in: the first whose infusion or rest is
    not over yet, else the last one."""
    today = timezone.localdate(now)
    for cycle in cycles:
        ends = cycle.infusion_ends_at  # unknown until its start is known
        if ends is None or ends >= now or (cycle.rest_end_date and cycle.rest_end_date >= today):
            return cycle
    return cycles[-1] if cycles else None


# The cycle under way opens around now: its last day, and the next two days but at least its next
# three events (at home, bag changes are days apart). Its earlier and later events are counted, and
# listed when asked (`cycle_events`), as the other cycles are: a cycle is up to a hundred events.
SHOWN_BEFORE = dt.timedelta(hours=24)
SHOWN_AFTER = dt.timedelta(hours=48)
SHOWN_NEXT = 3


@dataclass(frozen=True)
class EventsApart:
    """Events of the cycle under way that the page counts without listing them: those planned
    before `before`, or after `after`."""

    count: int
    overdue: int  # their open tasks past their due time
    first: dt.datetime
    last: dt.datetime
    before: dt.datetime | None = None
    after: dt.datetime | None = None

    @property
    def which(self) -> str:
        return "earlier" if self.before else "later"

    @property
    def query(self) -> str:
        """The query string of `cycle_events` that lists them."""
        return urlencode({"before": self.before.isoformat()} if self.before else {"after": self.after.isoformat()})


def _apart(rows: list[tuple[dt.datetime, int]], **bound: dt.datetime) -> EventsApart | None:
    if not rows:
        return None
    return EventsApart(len(rows), sum(overdue for _, overdue in rows), rows[0][0], rows[-1][0], **bound)


def cycles_around_now(cycles: list[Cycle], *, now: dt.datetime) -> None:
    """Open the cycles under way around `now`: give each its events of the last day and the coming
    ones (`event_rows`, `cancelled_events`, as `cycle_event_rows`), and `earlier` and `later`, the
    events left out (`EventsApart`, or None). Four queries, whatever the number of cycles and events."""
    start = (now - SHOWN_BEFORE).replace(second=0, microsecond=0)  # to the minute: the URLs of the rest read well
    # A done or missed event's open tasks due by its time were left open, not overdue (Task.is_left_open).
    happened = Coalesce(F("actual_at"), F("planned_at"))
    overdue = Count(
        "tasks",
        filter=Q(tasks__status=Task.Status.OPEN, tasks__due_at__lt=now)
        & (~Q(status__in=EVENT_OVER) | Q(tasks__due_at__gt=happened)),
    )
    planned = (
        CareEvent.objects.filter(cycle__in=cycles)
        .exclude(status=CareEvent.Status.CANCELLED)
        .annotate(overdue=overdue)
        .values_list("pk", "cycle_id", "planned_at", "overdue")
        .order_by("planned_at", "pk")
    )
    by_cycle: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for _, cycle_id, planned_at, late in planned:
        by_cycle[cycle_id].append((planned_at, late))
    shown = Q(pk__in=[])
    for cycle in cycles:
        rows = by_cycle[cycle.pk]
        upcoming = [planned_at for planned_at, _ in rows if planned_at > now][:SHOWN_NEXT]
        end = max([(now + SHOWN_AFTER).replace(second=0, microsecond=0), *upcoming])
        cycle.earlier = _apart([row for row in rows if row[0] < start], before=start)
        cycle.later = _apart([row for row in rows if row[0] > end], after=end)
        shown |= Q(cycle=cycle, planned_at__gte=start, planned_at__lte=end)
    cycle_event_rows(cycles, now=now, planned=shown)


def cycle_event_rows(cycles: list[Cycle], *, now: dt.datetime, planned: Q | None = None) -> None:
    """Give each cycle its events as the page lists them (`event_rows`, gates read at `now`) and its
    cancelled ones apart (`cancelled_events`): all of them, or those that `planned` selects. One
    query for the events and two for their gates, whatever the number of cycles."""
    events = (
        CareEvent.objects.filter(planned if planned is not None else Q(), cycle__in=cycles)
        .only("cycle_id", "patient_id", "kind", "sequence", "setting", "planned_at", "status", "note")
        .prefetch_related(checklists_with_gate_tasks())
        .order_by("planned_at", "pk")
    )
    by_cycle: dict[int, list[CareEvent]] = defaultdict(list)
    for event in events:
        by_cycle[event.cycle_id].append(event)
    for cycle in cycles:
        rows = by_cycle[cycle.pk]
        for event in rows:  # what the rows read of them (day of the cycle, the unit's clock) is at hand
            event.cycle, event.patient = cycle, cycle.course.patient
        cycle.cancelled_events = [event for event in rows if event.status == CareEvent.Status.CANCELLED]
        cycle.event_rows = [
            annotate_event(event, now=now) for event in rows if event.status != CareEvent.Status.CANCELLED
        ]


@dataclass
class RoleProgress:
    role: str
    done: int
    total: int

    @property
    def label(self) -> str:
        return Role(self.role).label


def role_progress(tasks) -> list[RoleProgress]:
    """Done (or not applicable) over all live tasks, per role."""
    total, done = Counter(), Counter()
    for task in tasks:
        if task.status == Task.Status.CANCELLED:
            continue
        total[task.role] += 1
        done[task.role] += task.status in (Task.Status.DONE, Task.Status.NOT_APPLICABLE)
    return [RoleProgress(role, done[role], total[role]) for role in Role.values if total[role]]


def annotate_event(event: CareEvent, *, now: dt.datetime | None = None) -> CareEvent:
    """Attach the gate, read at `now` (not yet due before its work opens), and the per-role
    progress of each checklist (tasks prefetched); `checklist_rows` are its checklists, for a
    template to loop over without a queryset a row."""
    now = now or timezone.now()
    checklists = list(event.checklists.all())
    for checklist in checklists:
        tasks = list(checklist.tasks.all())
        checklist.readiness = checklist_readiness(checklist, tasks).with_clock(now)
        checklist.progress = role_progress(tasks)
    event.checklist_rows = checklists
    event.readiness = event_readiness(checklists).with_clock(now) if checklists else None
    return event


def checklist_sections(checklist: Checklist) -> dict[str, dict[str, list[Task]]]:
    """Tasks by section, then by role, in item order."""
    sections: dict[str, dict[str, list[Task]]] = defaultdict(lambda: defaultdict(list))
    for task in checklist.tasks.all():
        sections[task.section][Role(task.role).label].append(task)
    return {section: dict(roles) for section, roles in sections.items()}
