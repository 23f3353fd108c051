"""Fixtures shared by the template governance tests."""

import pytest

from accounts.models import Role
from checklists.services import template_item_update, template_version_new_draft
from patients.models import CareEvent

from ..factories import UserFactory
from .helpers import publish_template


@pytest.fixture
def author(db):
    """An admin who is a pharmacist: writes drafts (and so may not approve them)."""
    return UserFactory(username="author", is_staff=True, role=Role.PHARMACIST)


@pytest.fixture
def published(db):
    """A home bag-change template's published v1: a pump check an hour before, a line check."""
    return publish_template(
        name="Bag change (home)",
        trigger_kind=CareEvent.Kind.BAG_CHANGE,
        items=[{"text": "Pump rate checked", "due_offset_minutes": -60}, {"text": "Line inspected"}],
    )


@pytest.fixture
def draft(published, author):
    """v2 of the bag change, with the pump check moved to two hours before."""
    draft = template_version_new_draft(template=published.template, actor=author)
    item = draft.items.get(text="Pump rate checked")
    template_item_update(item=item, values={"due_offset_minutes": -120}, actor=author)
    return draft
