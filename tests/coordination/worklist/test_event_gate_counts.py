"""The event page's gate says what blocks the event now, as the services enforce it and as the
unit board counts it: what an oncologist's override covers is no longer something the event waits
for (found by a review: the one line counted every item still missing, overridden or not, so a
hard stop failing after an override of three items read "waiting for nurse (4)" where the board
and the override form both said 1)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from checklists.gate import blocker_key
from checklists.models import Checklist, Task
from checklists.services import checklists_instantiate, task_complete
from patients.models import CareEvent

from ...checklists.helpers import make_event, override_gate, publish_template

HTMX = {"HTTP_HX_REQUEST": "true"}
TEMPERATURE = "Temperature before the start"
ITEMS = [
    {"text": TEMPERATURE, "response_kind": "number", "unit": "°C", "min_value": 35, "max_value": 38.5,
     "hard_stop": True},
    {"text": "Consent signed"},
    {"text": "Line primed"},
    {"text": "Filter in place"},
]  # fmt: skip


def test_the_gate_waits_only_for_what_no_override_covers(client, patient, nurse, oncologist):
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    override_gate(event, oncologist, reason="Consent confirmed verbally with the family")  # all four open
    temperature = Task.objects.get(event=event, text=TEMPERATURE)
    task_complete(task=temperature, actor=nurse, value="39.2", confirmed=True)  # fails after the override

    client.force_login(nurse)
    gate = client.get(reverse("event_detail", args=[event.pk]) + "?part=gate", **HTMX).content.decode()
    assert "Not ready" in gate and "waiting for nurse (1)" in gate
    # The list of what is missing still names the overridden items, said to be covered.
    missing = gate.split("What it is waiting for")[1]
    assert missing.count("covered by the override") == 3
    (hard_stop_line,) = [line for line in missing.splitlines() if TEMPERATURE in line]
    assert "hard stop failed" in hard_stop_line and "covered by the override" not in hard_stop_line

    patient_page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "Waiting for nurse (1)" in patient_page


@pytest.mark.parametrize("status", ["missed", "cancelled", "done"])
def test_the_gate_of_a_settled_event_is_history_on_its_page_too(client, patient, nurse, status):
    """Found by a review: the patient page treats a done, missed or cancelled event's gate as
    history, but its own page still read a red "Not ready" and "The event may not start until it is
    answered again or the gate is overridden", an override that the service refuses for it."""
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() - dt.timedelta(hours=13))
    checklists_instantiate(events=[event])
    task_complete(task=Task.objects.get(event=event, text=TEMPERATURE), actor=nurse, value="39.2", confirmed=True)
    CareEvent.objects.filter(pk=event.pk).update(status=status)

    client.force_login(nurse)
    page = client.get(reverse("event_detail", args=[event.pk])).content.decode()
    gate = page.split('id="event-gate"')[1].split("</details>")[0]
    assert "text-bg-danger" not in gate and "may not start" not in gate and "waiting for" not in gate
    assert f"The event is {CareEvent.Status(status).label.lower()}: its gate is history." in gate
    assert "What was missing (4)" in gate  # still said, for the record


def test_the_gate_reloads_inside_a_live_region_so_that_its_change_is_announced(client, patient, nurse):
    """The gate reloads itself after each task's change (htmx): a screen-reader user who has just
    answered the last item hears "Ready" (WCAG 4.1.3). The live region is the element that stays,
    around the gate that is replaced: a live region put in with the new content is not announced."""
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    client.force_login(nurse)
    page = client.get(reverse("event_detail", args=[event.pk])).content.decode()
    wrapper = page[page.rindex("<div", 0, page.index('data-hx-target="#event-gate"')) :].split(">", 1)[0]
    assert 'aria-live="polite"' in wrapper and 'data-hx-swap="outerHTML"' in wrapper
    gate = client.get(reverse("event_detail", args=[event.pk]) + "?part=gate", **HTMX).content.decode()
    assert '<div id="event-gate">' in gate
    assert "aria-live" not in gate  # the replaced part is not itself a (new) live region


def test_a_failed_dose_awaiting_its_check_is_listed_twice_for_the_override(client, patient, nurse, oncologist):
    """Found by a review: the override listed "hard stop failed (30)" alone, and covered the missing
    second check without saying so. Both are listed, and the page's override covers both; one that
    covered only the hard stop leaves the event waiting for the check."""
    publish_template(
        items=[
            {"text": "Dose (mcg/day)", "response_kind": "number", "min_value": 9, "max_value": 28,
             "hard_stop": True, "needs_verification": True, "verifier_role": "nurse", "required": True},
        ]
    )  # fmt: skip
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    dose = Task.objects.get(event=event)
    task_complete(task=dose, actor=nurse, value="30", confirmed=True)

    client.force_login(oncologist)
    page = client.get(reverse("event_detail", args=[event.pk])).content.decode()
    listed = page.split("This override lets the event start without:")[1].split("</ul>")[0]
    assert "Dose (mcg/day): hard stop failed (30) (nurse)" in listed
    assert "Dose (mcg/day): awaiting independent verification (nurse)" in listed
    assert "Override 2 items and record why" in page

    Checklist.objects.filter(event=event).update(
        override_reason="Dose of 30 accepted after discussing it with pharmacy",
        overridden_blockers=[blocker_key(dose.pk, "hard_stop", "30")],
    )
    gate = client.get(reverse("event_detail", args=[event.pk]) + "?part=gate", **HTMX).content.decode()
    assert "waiting for nurse (1)" in gate and '<span class="badge text-bg-warning">Overridden</span>' not in gate
    (check_line,) = [line for line in gate.splitlines() if "awaiting independent verification" in line]
    assert "covered by the override" not in check_line
