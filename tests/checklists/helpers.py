"""Builders for the checklist engine's tests: a published template, a care event, its checklist."""

import datetime as dt
import json
from decimal import Decimal

from django.utils import timezone

from accounts.models import Role
from checklists.models import Checklist, ChecklistTemplate, ItemCondition, Task, TemplateCondition, TemplateItem
from checklists.services import checklists_instantiate, template_version_new_draft, template_version_publish
from checklists.starter import LIBRARY
from patients.models import CareEvent, Cycle, Indication, Setting

from ..factories import CourseFactory


def item_spec(text: str, **fields) -> dict:
    """One item: a nurse's checkbox due at the event unless told otherwise."""
    return {"text": text, **fields}


def add_item(version, *, order: int, text: str, conditions=(), **fields) -> TemplateItem:
    values = {"section": "Before the start", "role": "nurse", "response_kind": "checkbox", **fields}
    for limit in ("min_value", "max_value"):
        if values.get(limit) is not None:
            values[limit] = Decimal(str(values[limit]))
    item = TemplateItem.objects.create(version=version, order=order, text=text, **values)
    for fact, operator, value in conditions:
        ItemCondition.objects.create(item=item, fact=fact, operator=operator, value=value)
    return item


def publish_template(
    *,
    items: list[dict],
    name: str = "Cycle start",
    trigger_kind: str = CareEvent.Kind.CYCLE_START,
    conditions=(),
    dependencies=(),
    actor=None,
    is_active: bool = True,
):
    """A template whose first version holds `items` (dicts of item fields, `conditions` as triples).

    `dependencies` are (dependent text, dependency text) pairs. Returns the published version.
    """
    template = ChecklistTemplate.objects.create(name=name, trigger_kind=trigger_kind, is_active=is_active)
    for fact, operator, value in conditions:
        TemplateCondition.objects.create(template=template, fact=fact, operator=operator, value=value)
    draft = template_version_new_draft(template=template, actor=actor)
    by_text = {}
    for order, spec in enumerate(items, start=1):
        spec = dict(spec)
        text = spec.pop("text")
        by_text[text] = add_item(draft, order=order, text=text, **spec)
    for dependent, dependency in dependencies:
        by_text[dependent].depends_on.add(by_text[dependency])
    return template_version_publish(version=draft, actor=actor, change_summary="First version")


def make_cycle(patient, *, number: int = 1, indication: str = Indication.RELAPSED_REFRACTORY, start_date=None):
    start_date = start_date or timezone.localdate() + dt.timedelta(days=1)
    course = CourseFactory(patient=patient, indication=indication, start_date=start_date)
    return Cycle.objects.create(course=course, number=number, phase=Cycle.Phase.INDUCTION, start_date=start_date)


def make_event(
    patient,
    *,
    kind: str = CareEvent.Kind.CYCLE_START,
    planned_at: dt.datetime | None = None,
    setting: str = Setting.INPATIENT,
    cycle=None,
    **cycle_fields,
) -> CareEvent:
    """A planned care event, created without the schedule's hook: tests instantiate explicitly."""
    cycle = cycle or make_cycle(patient, **cycle_fields)
    planned_at = planned_at or dt.datetime.combine(cycle.start_date, dt.time(9, 0), tzinfo=patient.unit.zone)
    return CareEvent.objects.create(
        patient=patient, cycle=cycle, kind=kind, sequence=1, setting=setting, planned_at=planned_at
    )


def checklist_for(event, version=None) -> Checklist:
    """The event's checklist (instantiated now if it has none yet)."""
    checklists_instantiate(events=[event])
    checklists = Checklist.objects.filter(event=event)
    if version is not None:
        checklists = checklists.filter(template_id=version.template_id)
    return checklists.get()


def task(checklist, text: str) -> Task:
    return Task.objects.get(checklist=checklist, text=text)


def texts(checklist) -> list[str]:
    return list(checklist.tasks.order_by("order").values_list("text", flat=True))


def item_form_data(conditions=(), **overrides) -> dict:
    """A valid POST of the template editor's item form (a pharmacist's checkbox at order 3), with
    up to two `conditions` (fact, operator, value) and `overrides` (None leaves a field out)."""
    data = {
        "section": "Pharmacy",
        "order": "3",
        "text": "Interaction review done",
        "help_text": "",
        "role": Role.PHARMACIST,
        "due_amount": "1",
        "due_unit": "hours",
        "due_direction": "before",
        "response_kind": "checkbox",
        "unit": "",
        "min_value": "",
        "max_value": "",
        "choices": "",
        "failing_choices": "",
        "required": "on",
        "verifier_role": "",
    }
    return form_with_conditions(data, conditions, overrides)


def form_with_conditions(data: dict, conditions, overrides: dict) -> dict:
    """`data` with a formset of two condition rows (`conditions`, as (fact, operator, value)
    triples; the rest left blank) and `overrides`, leaving out the fields overridden with None."""
    data = {**data, "conditions-TOTAL_FORMS": "2", "conditions-INITIAL_FORMS": "0"}
    data |= {"conditions-MIN_NUM_FORMS": "0", "conditions-MAX_NUM_FORMS": "10"}
    for index in range(2):
        fact, operator, value = conditions[index] if index < len(conditions) else ("", "", "")
        data |= {
            f"conditions-{index}-fact": fact,
            f"conditions-{index}-operator": operator,
            f"conditions-{index}-value": value,
        }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def blockers_listed(event) -> list[str]:
    """The keys of what the event page lists for the oncologist's override to confirm."""
    from checklists.gate import event_readiness

    return [b.key for b in event_readiness(Checklist.objects.filter(event=event).prefetch_related("tasks")).unresolved]


def override_gate(event, actor, *, reason: str, justification: str = "clinical_urgency", now=None):
    """The oncologist's override as the page sends it: confirming the blockers it lists now."""
    from checklists.services import event_gate_override

    return event_gate_override(
        event=event, actor=actor, reason=reason, justification=justification, covers=blockers_listed(event), now=now
    )


# An item's fields that every item needs, for tests that vary the rest.
ITEM = {"section": "After", "role": "nurse", "text": "Bag labelled"}


def library_file(name: str) -> dict:
    """A starter library file, as its JSON reads."""
    return json.loads((LIBRARY / name).read_text(encoding="utf-8"))
