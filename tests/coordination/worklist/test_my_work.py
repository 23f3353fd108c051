"""My work as the load benchmark shaped it: the most urgent rows first with counts of all, row
forms written without crispy (labels, errors at the field), and no query per row or per page
fragment that the page does not show (docs/performance.md, "Dashboard load")."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from checklists.models import Task
from checklists.policy import can_claim, can_verify
from checklists.selectors import my_work
from checklists.services import checklists_instantiate, task_complete, task_mark_not_applicable
from coordination.worklist.views.my_work import FIRST_ROWS
from patients.services import event_cancel

from ...checklists.helpers import make_event, publish_template

HTMX = {"HTTP_HX_REQUEST": "true"}
ITEMS = [
    {"text": "Pump programmed and locked", "needs_verification": True, "verifier_role": "nurse"},
    {"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": 1, "max_value": 300},
    {"text": "Bag on the label", "response_kind": "choice", "choices": ["24 h", "48 h"]},
    {"text": "Baseline assessment", "response_kind": "text"},
    {"text": "Caregiver taught the pump alarms", "response_kind": "attestation"},
]


def rows(body: str) -> int:
    return body.count('class="list-group-item task-row')


@pytest.fixture
def events(patient, nurse, nurse2):
    """Five cycle starts of the nurse's patient in the next hours: 25 tasks due today."""
    publish_template(items=ITEMS)
    soon = timezone.now() + dt.timedelta(hours=3)
    made = [make_event(patient, planned_at=soon + dt.timedelta(minutes=n)) for n in range(5)]
    checklists_instantiate(events=made)
    return made


def test_my_work_shows_the_most_urgent_rows_first_and_counts_them_all(client, nurse, events):
    Task.objects.filter(text="Weight").update(due_at=timezone.now() - dt.timedelta(minutes=5))
    client.force_login(nurse)
    body = client.get(reverse("home")).content.decode()
    assert rows(body) == FIRST_ROWS
    assert '25 tasks · <strong class="text-danger">5 overdue</strong>' in body
    assert f"showing the first {FIRST_ROWS}" in body and "show all 25</a>" in body
    first = re.search(r'id="task-(\d+)"', body).group(1)
    assert Task.objects.get(pk=first).text == "Weight"  # the overdue ones lead

    everything = client.get(reverse("home"), {"rows": "all"}).content.decode()
    assert rows(everything) == 25 and "show all" not in everything


def test_the_list_reloads_itself_from_the_address_it_came_from(client, nurse, events):
    client.force_login(nurse)
    body = client.get(reverse("home"), {"due": "72h", "rows": "all"}, **HTMX).content.decode()
    assert '<div hidden data-hx-get="/?due=72h&amp;rows=all" data-hx-trigger="taskChanged from:body' in body
    assert "<html" not in body  # the fragment alone


def test_every_answer_field_has_its_label_and_the_kind_of_input_it_asks_for(client, nurse, events):
    client.force_login(nurse)
    body = client.get(reverse("home"), {"rows": "all"}).content.decode()
    by_text = {task.text: task.pk for task in Task.objects.filter(event=events[0])}
    for task in Task.objects.filter(event=events[0]).exclude(response_kind="checkbox"):
        assert f'<label for="id_task-{task.pk}-value"' in body, task.text
        assert f'id="id_task-{task.pk}-value"' in body, task.text
    # The row shows the task's text; its field's label starts with it for screen readers only.
    weight_label = '<span class="visually-hidden">Weight: </span>Value (1–300 kg)'
    assert f'for="id_task-{by_text["Weight"]}-value" class="form-label small mb-0 requiredField">{weight_label}' in body
    assert f'name="task-{by_text["Weight"]}-value" inputmode="decimal"' in body
    assert f'<select name="task-{by_text["Bag on the label"]}-value"' in body and '<option value="48 h">' in body
    assert '<span class="visually-hidden">Caregiver taught the pump alarms: </span>I attest' in body
    # A checkbox task is done in one press: its Done button sends the tick (its hidden words name the task).
    assert f'<input type="hidden" name="task-{by_text["Pump programmed and locked"]}-value" value="on">' in body
    reason_label = f'<label for="id_na-{by_text["Baseline assessment"]}-reason"'
    assert f'{reason_label} class="form-label small mb-0 requiredField">' in body


@pytest.mark.parametrize(
    ("text", "value", "message"),
    [
        ("Caregiver taught the pump alarms", "", "This field is required."),
        ("Bag on the label", "72 h", "Select a valid choice. 72 h is not one of the available choices."),
        ("Weight", "heavy", "Enter a number with the digits 0–9"),
    ],
)
def test_a_refused_answer_is_shown_at_its_field_with_its_message(client, nurse, events, text, value, message):
    task = Task.objects.get(event=events[0], text=text)
    client.force_login(nurse)
    body = client.post(reverse("task_complete", args=[task.pk]), {f"task-{task.pk}-value": value}, **HTMX)
    body = body.content.decode()
    field = f"id_task-{task.pk}-value"
    assert f'is-invalid" required aria-invalid="true" aria-describedby="{field}_error" id="{field}"' in body
    assert f'<div id="{field}_error" class="invalid-feedback"><span id="error_1_{field}"><strong>' in body
    assert message in body
    if text == "Weight":
        assert f'name="{field[3:]}" value="{value}"' in body  # what was typed stays in the field
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN


def test_undo_without_a_reason_is_refused_at_the_reason_field(client, nurse, events):
    task = Task.objects.get(event=events[0], text="Baseline assessment")
    task_complete(task=task, actor=nurse, value="Alert")
    client.force_login(nurse)
    body = client.post(reverse("task_undo", args=[task.pk]), {f"undo-{task.pk}-reason": ""}, **HTMX).content.decode()
    assert "<details open>" in body and f'aria-describedby="id_undo-{task.pk}-reason_error"' in body
    task.refresh_from_db()
    assert task.status == Task.Status.DONE


def test_the_patient_filter_offers_only_the_patients_the_user_may_see(client, nurse, events, foreign_patient):
    client.force_login(nurse)
    body = client.get(reverse("home")).content.decode()
    assert f'<option value="{events[0].patient_id}">' in body
    assert f'<option value="{foreign_patient.pk}">' not in body
    refused = client.get(reverse("home"), {"patient": foreign_patient.pk}).content.decode()
    assert 'id="id_patient_error"' in refused and "Select a valid choice" in refused


def test_fragments_do_not_count_unread_notifications_but_pages_do(client, nurse, events):
    client.force_login(nurse)
    task = Task.objects.get(event=events[0], text="Pump programmed and locked")

    def counted(request) -> bool:
        with CaptureQueriesContext(connection) as captured:
            assert request().status_code == 200
        return any("coordination_notification" in query["sql"] for query in captured)

    assert counted(lambda: client.get(reverse("home")))
    assert not counted(lambda: client.get(reverse("home"), **HTMX))
    assert not counted(lambda: client.post(reverse("task_claim", args=[task.pk]), **HTMX))


@pytest.mark.parametrize("items", [1, 12])
def test_the_event_page_loads_its_tasks_patients_once_not_once_a_row(client, nurse, patient, items):
    """decorate() gives rows their patient; the event page's tasks come without it."""
    publish_template(items=[{"text": f"Check {n}"} for n in range(items)])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    client.force_login(nurse)
    client.get(reverse("event_detail", args=[event.pk]))  # warm: content types, the session
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("event_detail", args=[event.pk]))
    patient_reads = [q for q in captured if q["sql"].startswith('SELECT "patients_patient"')]
    assert len(patient_reads) <= 2, [q["sql"][:120] for q in patient_reads]


def test_a_completion_waits_in_my_work_only_for_those_the_task_policy_lets_check_it(
    client, patient, nurse, nurse2, case_manager
):
    """My work asks the task policy (checklists.policy.awaiting_check_by, as can_verify): a case
    manager on the team verifies nothing, so a check that any member may do is not theirs."""
    publish_template(items=[{"text": "Line dressing checked", "needs_verification": True}])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    check = Task.objects.get(event=event)
    task_complete(task=check, actor=nurse, value="yes")
    check.refresh_from_db()
    for user, waits in ((nurse2, True), (nurse, False), (case_manager, False)):
        client.force_login(user)
        body = client.get(reverse("home"), {"status": "verify", "due": "all"}).content.decode()
        assert (f'id="task-{check.pk}"' in body) is waits, user.username
        assert bool(can_verify(user, check)) is waits, user.username


def test_the_pool_offers_only_open_tasks_as_the_task_policy_does(nurse, nurse2, events):
    """The unclaimed pool (checklists.policy.claimable_by, as can_claim) holds open tasks only: the
    tasks of a cancelled event, and a task skipped, wait in nobody's My work to be done."""
    cancelled, skipped_from = events[0], events[1]
    event_cancel(event=cancelled, reason="Admitted with an infection")
    skipped = task_mark_not_applicable(
        task=Task.objects.get(event=skipped_from, text="Baseline assessment"), actor=nurse2, reason="Done at the clinic"
    )
    closed = [*Task.objects.filter(event=cancelled), skipped]
    assert {task.status for task in closed} == {Task.Status.CANCELLED, Task.Status.NOT_APPLICABLE}

    mine = set(my_work(nurse).values_list("pk", flat=True))
    assert mine.isdisjoint(task.pk for task in closed)
    assert not any(can_claim(nurse, task) for task in closed)
    assert Task.objects.filter(event=skipped_from, status=Task.Status.OPEN).exclude(pk__in=mine).count() == 0


def test_the_reason_fields_and_their_buttons_name_their_task_for_screen_readers(client, nurse, events):
    """A page lists many rows: a screen reader's list of fields and buttons, read out of the rows,
    says which task each "Why does it not apply?", "Mark not applicable" and "Undo" acts on."""
    open_task = Task.objects.get(event=events[0], text="Baseline assessment")
    done = Task.objects.get(event=events[0], text="Weight")
    task_complete(task=done, actor=nurse, value="70")
    client.force_login(nurse)
    body = client.get(reverse("event_detail", args=[events[0].pk])).content.decode()
    hidden = '<span class="visually-hidden">Baseline assessment: </span>'
    assert f'for="id_na-{open_task.pk}-reason" class="form-label small mb-0 requiredField">{hidden}Why' in body
    assert 'Not applicable<span class="visually-hidden">: Baseline assessment</span>…</summary>' in body
    assert 'Mark not applicable<span class="visually-hidden">: Baseline assessment</span></button>' in body
    assert f'for="id_undo-{done.pk}-reason" class="form-label small mb-0 requiredField">' in body
    assert '<span class="visually-hidden">Weight: </span>Why undo?' in body
    assert 'Undo<span class="visually-hidden">: Weight</span>…</summary>' in body
    assert 'Undo<span class="visually-hidden">: Weight</span></button>' in body

    # Refused (no reason), the field comes back the same, with its error.
    post = {f"undo-{done.pk}-reason": ""}
    body = client.post(reverse("task_undo", args=[done.pk]), post, **HTMX).content.decode()
    assert '<span class="visually-hidden">Weight: </span>Why undo?' in body
    assert f'aria-describedby="id_undo-{done.pk}-reason_error"' in body
