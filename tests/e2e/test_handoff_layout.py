"""The handoff page on a narrow tablet (820 px): each action's due time and state stay on the
right of its row, where the other rows have them, even when a long action wraps its line."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Role

from ..coordination.handoff_helpers import ActionSpec, draft_handoff, make_agency, make_discharge
from .helpers import sideways_scroll

pytestmark = pytest.mark.e2e

LONG = "First home visit: pump, line site, vital signs, neuro check (writing sample), teach-back, supplies counted"


def test_a_long_action_keeps_its_due_time_on_the_right(page, login_as, patient, ward, case_manager):
    event = make_discharge(patient)
    soon = timezone.now() + dt.timedelta(hours=30)
    handoff = draft_handoff(
        event,
        case_manager,
        make_agency(ward),
        actions=[ActionSpec(LONG, Role.NURSE, soon), ActionSpec("First bag change", Role.NURSE, soon)],
    )
    login_as(page, case_manager.username)
    page.set_viewport_size({"width": 820, "height": 900})  # after the sign-in: its helper looks for the full bar
    page.goto(f"/handoffs/{handoff.pk}/")
    assert sideways_scroll(page) == ""
    rights = []
    for action in handoff.actions.all():
        row = page.locator(f"#handoff-action-{action.pk}")
        due = row.get_by_text("Due ", exact=False).first.bounding_box()
        box = row.bounding_box()
        rights.append(round(box["x"] + box["width"] - (due["x"] + due["width"])))
    # The long action wrapped its due time under the title: it still ends at the row's right padding.
    assert max(rights) - min(rights) <= 2, rights
