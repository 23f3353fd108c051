"""The event page's gate says what blocks the event now, as the services enforce it and as the
unit board counts it: what an oncologist's override covers is no longer something the event waits
for (found by a review: the one line counted every item still missing, overridden or not, so a
hard stop failing after an override of three items read "waiting for nurse (4)" where the board
and the override form both said 1)."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from checklists.models import Task
from checklists.services import checklists_instantiate, task_complete

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
