"""Undo, verify and reassign act on the task as the user's page drew it: an answer given (or a
claim taken) since is never undone, verified or overridden unseen; the row says what it is now."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts import moments
from checklists.models import Task
from checklists.services import checklists_instantiate, task_claim, task_complete, task_undo

from ...accounts.helpers import verified_login
from ...checklists.helpers import make_event, publish_template

ITEMS = [
    {"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": 1, "max_value": 300},
    {"text": "Pump programmed and locked", "needs_verification": True, "verifier_role": "nurse"},
]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def event(patient, nurse, nurse2, coordinator):
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    return event


def task(event, text) -> Task:
    return Task.objects.get(event=event, text=text)


def drawn_version(page: str, action_url: str) -> str:
    """The task's state as the page drew it in the form that posts to `action_url`."""
    form = re.search(rf'<form method="post" action="{re.escape(action_url)}".*?</form>', page, re.S)
    assert form, f"no form for {action_url}"
    version = re.search(r'name="version" value="([^"]+)"', form.group(0))
    assert version, "the form does not carry the task's state as drawn"
    return version.group(1)


def test_an_undo_of_an_answer_given_since_the_page_was_drawn_is_refused_with_the_answer_now(
    client, nurse, nurse2, event
):
    weight = task(event, "Weight")
    task_complete(task=weight, actor=nurse2, value="70")
    client.force_login(nurse)
    undo_url = reverse("task_undo", args=[weight.pk])
    seen = drawn_version(client.get(reverse("event_detail", args=[event.pk])).content.decode(), undo_url)
    # Meanwhile the colleague undoes her 70 and answers 75.
    task_undo(task=weight, actor=nurse2, reason="Scale not zeroed")
    task_complete(task=weight, actor=nurse2, value="75")

    response = client.post(undo_url, {f"undo-{weight.pk}-reason": "Typo", "version": seen}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "This task changed since you saw it: it is now done by" in body and "(75 kg)" in body
    assert "Nothing was undone" in body
    assert "75 kg" in body and 'name="version"' in body  # the row shows the answer as it is, to undo anew
    weight.refresh_from_db()
    # When, as every moment is written: with its day, on the clock of the page (the patient's unit's).
    done_at = moments.moment_short(weight.completed_at, event.patient.unit.zone)
    assert escape(f"it is now done by {nurse2} at {done_at} (75 kg)") in body
    assert weight.status == Task.Status.DONE and weight.value == "75 kg"


def test_an_undo_of_the_answer_drawn_still_reopens_it(client, nurse, nurse2, event):
    weight = task(event, "Weight")
    task_complete(task=weight, actor=nurse2, value="70")
    client.force_login(nurse)
    undo_url = reverse("task_undo", args=[weight.pk])
    seen = drawn_version(client.get(reverse("event_detail", args=[event.pk])).content.decode(), undo_url)
    response = client.post(undo_url, {f"undo-{weight.pk}-reason": "Typo", "version": seen}, **HTMX)
    assert "Reopened." in response.content.decode()
    weight.refresh_from_db()
    assert weight.status == Task.Status.OPEN


def test_a_verification_of_a_completion_redone_since_the_page_was_drawn_is_refused(client, nurse, nurse2, event):
    pump = task(event, "Pump programmed and locked")
    task_complete(task=pump, actor=nurse2, value="on")
    client.force_login(nurse)
    verify_url = reverse("task_verify", args=[pump.pk])
    seen = drawn_version(client.get(reverse("home")).content.decode(), verify_url)
    task_undo(task=pump, actor=nurse2, reason="Line reprimed")
    task_complete(task=pump, actor=nurse2, value="on")

    body = client.post(verify_url, {"version": seen}, **HTMX).content.decode()
    assert "This task changed since you saw it" in body and "Nothing was verified" in body
    pump.refresh_from_db()
    assert pump.verified_by is None


def test_a_reassignment_of_a_task_claimed_since_the_form_was_opened_is_refused(
    client, coordinator, nurse, nurse2, event
):
    weight = task(event, "Weight")
    verified_login(client, coordinator)
    reassign_url = reverse("task_reassign", args=[weight.pk])
    seen = drawn_version(client.get(reassign_url, **HTMX).content.decode(), reassign_url)
    task_claim(task=weight, actor=nurse)  # she took it meanwhile
    data = {f"reassign-{weight.pk}-assignee": nurse2.pk, f"reassign-{weight.pk}-reason": "Nobody had it"}
    response = client.post(reassign_url, {**data, "version": seen}, follow=True)
    assert "it is now open, claimed by" in response.content.decode()
    weight.refresh_from_db()
    assert weight.assignee == nurse
