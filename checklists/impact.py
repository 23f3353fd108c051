"""What publishing a draft does to the patients: which upcoming events get the new version, and
which open checklists keep the old one, unit by unit.

A checklist is a snapshot (DESIGN.md, rule 1): publishing never changes one. But the checklist
of an upcoming event that nobody has touched, and that is on nobody's list yet (its first task
is more than `WORK_HORIZON` away), is replaced at publication by one of the new version, so that
a correction reaches the next weeks' planned bag changes instead of only the events planned
after it. Work begun, or due within the horizon, keeps the version it began with: nobody finds
their checklist changed under them.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db.models import Exists, Min, OuterRef, Q, QuerySet

from patients.models import CareEvent

from .gate import WORK_HORIZON
from .models import Checklist, ChecklistTemplate, Task, TaskActivity, TemplateVersion

UNFINISHED_EVENTS = (CareEvent.Status.PLANNED, CareEvent.Status.IN_PROGRESS)


def _worked_on() -> Exists:
    """Anyone has done anything to one of the checklist's tasks (claimed, answered, skipped…)."""
    touched = ~Q(status=Task.Status.OPEN) | Q(assignee__isnull=False) | Q(completed_by__isnull=False)
    return Exists(Task.objects.filter(touched, checklist=OuterRef("pk"))) | Exists(
        TaskActivity.objects.filter(checklist=OuterRef("pk"))
    )


def replaceable_checklists(template: ChecklistTemplate, *, now: dt.datetime) -> QuerySet[Checklist]:
    """The template's checklists that publication re-makes on the new version: planned events
    in the future, no override, no work on them, and no task due within the horizon.

    Only events of the kind that the template is triggered by now: after a change of its trigger,
    publication makes checklists for events of the new kind alone, so a checklist of the former
    kind's event would be deleted and never made again. It keeps its version, as the template's
    settings apply only to checklists made from then on."""
    return (
        Checklist.objects.filter(
            template=template,
            event__kind=template.trigger_kind,
            event__status=CareEvent.Status.PLANNED,
            event__planned_at__gt=now,
            overridden_at__isnull=True,
        )
        .annotate(first_due=Min("tasks__due_at"))
        .filter(Q(first_due__isnull=True) | Q(first_due__gt=now + WORK_HORIZON))
        .exclude(_worked_on())
    )


def replaced_checklists(template: ChecklistTemplate, *, now: dt.datetime) -> list[Checklist]:
    """The replaceable checklists that publication deletes and makes again on the new version:
    those of events that the template's conditions still apply to (as checklists_instantiate
    asks them). The others keep their version: their template's settings changed since, and
    those apply only to checklists made from then on. None when the template is inactive."""
    if not template.is_active:
        return []
    checklists = replaceable_checklists(template, now=now).select_related(
        "event__patient__unit", "event__cycle__course__regimen_version"
    )
    conditions = list(template.conditions.all())
    if conditions:
        checklists = checklists.prefetch_related("event__cycle__course__regimen_version__premedications")
    return [c for c in checklists if all(condition.holds_for(c.event) for condition in conditions)]


def kept_checklists(template: ChecklistTemplate, *, replaced: Collection[int]) -> QuerySet[Checklist]:
    """The template's checklists of unfinished events that keep their version: all but those
    `replaced` (their ids)."""
    unfinished = Checklist.objects.filter(template=template, event__status__in=UNFINISHED_EVENTS)
    return unfinished.exclude(pk__in=replaced)


def events_without_checklist(template: ChecklistTemplate, *, now: dt.datetime) -> list[CareEvent]:
    """Upcoming planned events of the template's kind that have none of its checklists and that
    its conditions apply to: those get one at publication (checklists_instantiate)."""
    if not template.is_active:
        return []
    events = (
        CareEvent.objects.filter(kind=template.trigger_kind, status=CareEvent.Status.PLANNED, planned_at__gt=now)
        .exclude(checklists__template=template)
        .select_related("patient__unit", "cycle__course__regimen_version")
        .prefetch_related("cycle__course__regimen_version__premedications")
    )
    conditions = list(template.conditions.all())
    return [event for event in events if all(condition.holds_for(event) for condition in conditions)]


@dataclass
class UnitImpact:
    unit: str
    new: int = 0  # upcoming events with no checklist of the template yet: they get the new version
    replaced: int = 0  # untouched upcoming checklists: re-made on the new version
    kept: int = 0  # open checklists: they keep the version they began with

    @property
    def get_new_version(self) -> int:
        return self.new + self.replaced


@dataclass
class Impact:
    units: list[UnitImpact] = field(default_factory=list)

    @property
    def get_new_version(self) -> int:
        return sum(unit.get_new_version for unit in self.units)

    @property
    def kept(self) -> int:
        return sum(unit.kept for unit in self.units)

    @property
    def nothing(self) -> bool:
        return not self.units


def _unit_name(event: CareEvent) -> str:
    return event.patient.unit.name if event.patient.unit_id else "No unit"


def _unit_counts(checklists: QuerySet[Checklist]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for unit_name in checklists.values_list("event__patient__unit__name", flat=True):
        counts[unit_name or "No unit"] += 1
    return counts


def publication_impact(version: TemplateVersion, *, now: dt.datetime) -> Impact:
    """What publishing `version` would do now, by unit (a constant number of queries, but for
    the template's conditions, which are read per event as instantiation reads them)."""
    template = version.template
    by_unit: dict[str, UnitImpact] = {}

    def unit(name: str) -> UnitImpact:
        return by_unit.setdefault(name, UnitImpact(name))

    for event in events_without_checklist(template, now=now):
        unit(_unit_name(event)).new += 1
    replaced = replaced_checklists(template, now=now)
    for checklist in replaced:
        unit(_unit_name(checklist.event)).replaced += 1
    for name, count in _unit_counts(kept_checklists(template, replaced=[c.pk for c in replaced])).items():
        unit(name).kept += count
    return Impact(units=sorted(by_unit.values(), key=lambda u: u.unit))
