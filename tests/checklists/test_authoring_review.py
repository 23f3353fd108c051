"""Defects found by a fresh review of template authoring: each test says what must hold."""

import datetime as dt

from django.utils import timezone

from checklists.impact import publication_impact
from checklists.models import Checklist
from checklists.services import (
    checklists_instantiate,
    template_item_update,
    template_update,
    template_version_new_draft,
    template_version_publish,
)
from patients.models import CareEvent

from ..factories import PatientFactory
from .helpers import make_event


def _bag_change(patient, days: float) -> CareEvent:
    return make_event(patient, kind=CareEvent.Kind.BAG_CHANGE, planned_at=timezone.now() + dt.timedelta(days=days))


# --- a trigger changed, then a version published ---------------------------------------------------


def test_publishing_after_a_trigger_change_keeps_the_checklists_of_the_former_kinds_events(published, author):
    """The template's settings apply to checklists made from then on: an upcoming bag change keeps
    the checklist it has, rather than losing it to a version that no bag change gets any more."""
    event = _bag_change(PatientFactory(), 3)
    checklists_instantiate(events=[event])
    template = template_update(
        template=published.template, values={"trigger_kind": CareEvent.Kind.CYCLE_START}, actor=author
    )
    draft = template_version_new_draft(template=template, actor=author)
    template_item_update(item=draft.items.get(text="Line inspected"), values={"text": "Line checked"}, actor=author)

    impact = publication_impact(draft, now=timezone.now())
    assert (impact.get_new_version, impact.kept) == (0, 1)
    template_version_publish(version=draft, actor=author, change_summary="Line checked")

    kept = Checklist.objects.get(event=event)
    assert kept.version == published
    assert kept.tasks.count() == 2
