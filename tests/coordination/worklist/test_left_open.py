"""Open tasks of an event that is over stop crying wolf: once their event is done they are no longer
overdue work (My work, the board's overdue list, the reminders), but they are listed, neutral, on
the event page and the board as "left open when the event was done" until the unit's coordinator
or their owner closes them: done late, at the time they were done, or not done, with why."""

import csv
import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from checklists.models import Checklist, Task, TaskActivity
from checklists.services import (
    LeftOpenOutcome,
    TaskConflict,
    checklists_instantiate,
    events_settle,
    task_close_left_open,
    task_complete,
)
from coordination.models import TaskSnooze
from coordination.reminders.services import task_snooze
from patients.models import CareEvent

from ...accounts.helpers import verified_login
from ...checklists.helpers import make_event, override_gate, publish_template
from ...factories import CareTeamMemberFactory, PatientFactory
from ...query_count import queries_of
from .helpers import read_logged

ITEMS = [
    {"text": "Line flushed", "due_offset_minutes": -60},
    {
        "text": "Temperature",
        "response_kind": "number",
        "unit": "°C",
        "min_value": 35,
        "max_value": 38.5,
        "hard_stop": True,
        "due_offset_minutes": -30,
    },
    {"text": "Teach the caregiver", "role": "case_manager", "required": False, "due_offset_minutes": -120},
]


@pytest.fixture(autouse=True)
def _rendered_every_time(settings):
    settings.PAGE_CACHE_SECONDS = 0
    settings.EVENT_SETTLE_HOURS = 12


@pytest.fixture
def template(db):
    return publish_template(items=ITEMS)


def done_event(patient, oncologist, *, hours_ago: int = 13) -> CareEvent:
    """An event whose gate an oncologist overrode, its work left open, settled by the beat as done."""
    event = make_event(patient, planned_at=timezone.now() - dt.timedelta(hours=hours_ago))
    checklists_instantiate(events=[event])
    override_gate(event, oncologist, reason="Started on the paper checklist during the network outage.")
    events_settle()
    event.refresh_from_db()
    assert event.status == CareEvent.Status.DONE
    return event


def live_event(patient, *, hours_ahead: int = 2) -> CareEvent:
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=hours_ahead))
    checklists_instantiate(events=[event])
    return event


def task_of(event, text: str) -> Task:
    return Task.objects.select_related("event", "patient__unit").get(event=event, text=text)


HTMX = {"HTTP_HX_REQUEST": "true"}


# --- no longer overdue -----------------------------------------------------------------------------


def test_my_work_no_longer_shows_the_open_tasks_of_a_done_event_as_overdue(
    client, patient, nurse, oncologist, template
):
    done = done_event(patient, oncologist)
    live = live_event(patient, hours_ahead=-1)  # still planned, its work overdue
    client.force_login(nurse)
    page = client.get(reverse("home")).content.decode()
    assert f'href="/events/{live.pk}/"' in page and "Overdue" in page
    assert f'href="/events/{done.pk}/"' not in page
    assert f'id="task-{task_of(live, "Line flushed").pk}"' in page
    assert f'id="task-{task_of(done, "Line flushed").pk}"' not in page


def test_work_due_after_the_event_stays_work_once_the_event_is_done(client, patient, nurse, oncologist, coordinator):
    """Found by the walk of the board after the merge: a stop's follow-up tasks (the line secured,
    the oncologist told), due after the stop, left My work as "left open" as soon as the stop was
    recorded, as did a cycle start's checks due hours after the start. Only work due by the time
    the event happened can have been left open by it; what is due after it is still to do."""
    publish_template(items=[*ITEMS, {"text": "Pump checked after the start", "due_offset_minutes": 120}])
    done = done_event(patient, oncologist, hours_ago=13)
    after = task_of(done, "Pump checked after the start")
    before = task_of(done, "Line flushed")
    assert (after.is_left_open, after.is_overdue) == (False, True)
    assert before.is_left_open
    client.force_login(nurse)
    page = client.get(reverse("home")).content.decode()
    assert f'id="task-{after.pk}"' in page and f'id="task-{before.pk}"' not in page
    verified_login(client, coordinator)
    assert "Overdue tasks (1)" in client.get(reverse("board")).content.decode()


def test_the_boards_overdue_count_leaves_out_the_tasks_of_a_done_event(
    client, patient, nurse, oncologist, coordinator, template
):
    done_event(patient, oncologist)
    verified_login(client, coordinator)
    board = client.get(reverse("board")).content.decode()
    assert "Overdue tasks (0)" in board
    overdue = client.get(reverse("board_overdue")).content.decode()
    assert "Line flushed" not in overdue


def test_the_patient_page_counts_no_overdue_task_among_the_earlier_events_once_they_are_done(
    client, patient, nurse, oncologist, template
):
    done_event(patient, oncologist, hours_ago=30)  # before the page's last day: counted, not listed
    client.force_login(nurse)
    page = client.get(reverse("patient_detail", args=[patient.pk])).content.decode()
    assert "The 1 earlier event of cycle 1" in page
    assert "overdue" not in page.split("The 1 earlier event")[1].split("</summary>")[0]


# --- shown apart, neutral, until closed ------------------------------------------------------------


def test_the_event_page_lists_the_tasks_left_open_neutrally_not_as_overdue(
    client, patient, nurse, oncologist, template
):
    done = done_event(patient, oncologist)
    client.force_login(nurse)
    page = client.get(reverse("event_detail", args=[done.pk])).content.decode()
    assert "Left open when the event was done: 3 tasks" in page
    row = page.split(f'id="task-{task_of(done, "Line flushed").pk}"')[1].split('class="list-group-item task-row')[0]
    assert '<span class="badge text-bg-secondary">Left open when the event was done</span>' in row
    assert "Overdue" not in row and "status-overdue" not in page


def test_the_board_counts_the_tasks_left_open_by_role_and_person_with_their_weight_naming_none(
    client, patient, nurse, oncologist, coordinator, template
):
    """Issue 19: the section listed up to 200 full rows (a third of the board's CPU on a large ward);
    it now counts them as the overdue summary does, the hard stops and required items shown apart."""
    done = done_event(patient, oncologist)
    Task.objects.filter(pk=task_of(done, "Line flushed").pk).update(assignee=nurse)
    verified_login(client, coordinator)
    board = client.get(reverse("board")).content.decode()
    section = board.split('id="left-open"')[1].split("</section>")[0]
    assert "Left open when the event was done or missed (3)" in board
    weight = '<span class="badge text-bg-light border">{}</span>'
    nurses = section.split('<h3 class="h5">Nurse</h3>')[1].split("</ul>")[0]
    assert f"<strong>{nurse}</strong>: 1 left open · {weight.format('1 required')}</summary>" in nurses
    assert f"<strong>Unclaimed (pool)</strong>: 1 left open · {weight.format('1 hard stop')}</summary>" in nurses
    assert nurses.index(f"<strong>{nurse}</strong>") < nurses.index("Unclaimed (pool)")  # the pool last
    case_managers = section.split('<h3 class="h5">Case manager</h3>')[1].split("</ul>")[0]
    assert "<strong>Unclaimed (pool)</strong>: 1 left open</summary>" in case_managers  # optional: no weight
    assert section.index('<h3 class="h5">Nurse</h3>') < section.index('<h3 class="h5">Case manager</h3>')
    list_url = reverse("board_left_open") + f"?role=nurse&amp;assignee={nurse.pk}"
    assert f'data-hx-get="{list_url}" data-hx-trigger="toggle from:closest details once"' in nurses
    assert f'<a href="{list_url}">Open the list' in nurses  # without JavaScript, a page of its own
    # No task, no patient named until a line is opened.
    assert "Line flushed" not in section and patient.mrn not in section and patient.family_name not in section
    assert "text-bg-danger" not in section


def test_a_lines_list_opens_in_place_hard_stops_and_required_first_each_with_close_and_two_identifiers(
    client, patient, nurse, oncologist, coordinator, template
):
    done = done_event(patient, oncologist)
    verified_login(client, coordinator)
    listed = client.get(reverse("board_left_open") + "?role=nurse&assignee=pool", **HTMX).content.decode()
    assert "<html" not in listed
    assert listed.index("Temperature") < listed.index("Line flushed") and "Teach the caregiver" not in listed
    assert f"{patient.family_name}, {patient.given_name}</a> (MRN {patient.mrn})" in listed
    assert f'<a href="/events/{done.pk}/">{done.label}</a>' in listed
    for text in ("Temperature", "Line flushed"):
        close = reverse("task_close", args=[task_of(done, text).pk])
        assert f'href="{close}?next=/board/"' in listed
    assert "text-bg-danger" not in listed and "status-overdue" not in listed
    everyone = client.get(reverse("board_left_open"), **HTMX).content.decode()  # every role and person
    assert everyone.index("Temperature") < everyone.index("Line flushed") < everyone.index("Teach the caregiver")
    page = client.get(reverse("board_left_open") + "?role=case_manager&assignee=pool").content.decode()
    assert '<h1 class="h3">Left open when the event was done or missed · Case manager · Unclaimed (pool)</h1>' in page
    assert "Teach the caregiver" in page and "Temperature" not in page


def test_the_board_logs_no_patient_for_its_left_open_summary_and_the_list_the_patients_it_names(
    client, ward, patient, nurse, oncologist, coordinator, template
):
    other = PatientFactory(unit=ward)
    CareTeamMemberFactory(patient=other, user=oncologist, role="oncologist")
    done_event(patient, oncologist)
    done_event(other, oncologist)
    Task.objects.filter(patient=other, text="Temperature").update(assignee=nurse)
    # The board names the patients of the week's overrides: these were given before it.
    Checklist.objects.filter(event__patient__in=[patient, other]).update(
        overridden_at=timezone.now() - dt.timedelta(days=8)
    )
    verified_login(client, coordinator)

    def read(url, **headers):
        return read_logged(client, url, **headers)

    assert read(reverse("board")) == ("coordination.board", {"patients": []})
    mine = read(reverse("board_left_open") + f"?role=nurse&assignee={nurse.pk}", **HTMX)
    assert mine == ("coordination.board_left_open", {"patients": [other.pk]})
    everyone = read(reverse("board_left_open"))
    assert everyone == ("coordination.board_left_open", {"patients": sorted([patient.pk, other.pk])})


def test_the_list_downloads_as_csv_and_logs_one_export_naming_its_patients(
    client, patient, nurse, oncologist, coordinator, template
):
    done = done_event(patient, oncologist)
    verified_login(client, coordinator)
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    response = client.get(reverse("board_left_open") + "?role=nurse&format=csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
    assert header[:3] == [f"Due ({patient.unit.zone.key})", "Task", "Item"]
    assert [row[1:3] for row in rows] == [["Temperature", "Hard stop"], ["Line flushed", "Required"]]
    assert all(row[5:] == [f"{patient.family_name}, {patient.given_name}", patient.mrn, done.label] for row in rows)
    logged = AuditEvent.objects.filter(id__gt=before)
    (export,) = logged.filter(action=AuditEvent.Action.EXPORT)
    assert export.object_type == "coordination.board_left_open"
    assert export.detail == {"filters": {"role": "nurse"}, "rows": 2, "patients": [patient.pk]}
    assert not logged.filter(action=AuditEvent.Action.VIEW).exists()


def test_a_closed_task_leaves_the_boards_count_and_its_list(client, patient, nurse, oncologist, coordinator, template):
    done = done_event(patient, oncologist)
    for text in ("Line flushed", "Temperature", "Teach the caregiver"):
        task_close_left_open(task=task_of(done, text), actor=coordinator, outcome="not_done", reason="Not charted.")
    verified_login(client, coordinator)
    board = client.get(reverse("board")).content.decode()
    assert "Left open when the event was done or missed (0)" in board
    assert "None: every task of the events done or missed was closed." in board
    listed = client.get(reverse("board_left_open") + "?role=nurse&assignee=pool", **HTMX).content.decode()
    assert "No task left open here" in listed and "Temperature" not in listed


@pytest.mark.parametrize(
    "url", ["board", "board_left_open", "board_left_open?role=nurse&assignee=pool", "board_left_open?format=csv"]
)
def test_the_board_and_its_left_open_list_read_as_many_times_for_one_task_left_open_as_for_thirty(
    client, ward, oncologist, coordinator, template, time_machine, url
):
    time_machine.move_to(timezone.now(), tick=False)
    name, _, query = url.partition("?")
    url = reverse(name) + (f"?{query}" if query else "")
    verified_login(client, coordinator)
    client.get(url)  # the session's first look writes its activity
    counts = []
    for patients in (1, 9):
        for _ in range(patients):
            patient = PatientFactory(unit=ward)
            CareTeamMemberFactory(patient=patient, user=oncologist, role="oncologist")
            done_event(patient, oncologist)
        counts.append(queries_of(client, url))
    assert Task.objects.filter(status="open", event__status="done").count() == 30
    assert counts[0] == counts[1]


@pytest.mark.parametrize("query", ["?role=surgeon", "?assignee=somebody"])
def test_a_left_open_list_the_board_does_not_offer_is_not_found(client, coordinator, query):
    verified_login(client, coordinator)
    assert client.get(reverse("board_left_open") + query).status_code == 404


# --- closing it ------------------------------------------------------------------------------------


def test_the_coordinator_closes_a_task_left_open_as_done_late_at_its_real_time(
    patient, nurse, oncologist, coordinator, template
):
    done = done_event(patient, oncologist)
    when = done.planned_at - dt.timedelta(minutes=40)
    task = task_close_left_open(
        task=task_of(done, "Line flushed"),
        actor=coordinator,
        outcome=LeftOpenOutcome.DONE_LATE,
        reason="Charted on paper by the night nurse.",
        done_at=when,
    )
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.completed_at == when and task.completed_by == coordinator
    history = TaskActivity.objects.get(task=task, action=TaskActivity.Action.DONE_LATE)
    assert history.actor == coordinator and "Charted on paper by the night nurse." in history.detail
    assert f"{timezone.localtime(when, patient.unit.zone):%H:%M}" in history.detail


def test_its_owner_closes_a_hard_stop_left_open_as_not_done_with_why(patient, nurse, oncologist, template):
    done = done_event(patient, oncologist)
    task = task_close_left_open(
        task=task_of(done, "Temperature"),
        actor=nurse,
        outcome=LeftOpenOutcome.NOT_DONE,
        reason="Thermometer missing; the oncologist saw the patient instead.",
    )
    task.refresh_from_db()
    assert task.status == Task.Status.NOT_DONE and task.get_status_display() == "Not done"
    assert TaskActivity.objects.get(task=task, action=TaskActivity.Action.NOT_DONE).detail.startswith("Thermometer")


def test_a_task_of_an_event_still_planned_is_not_closed_this_way(patient, nurse, coordinator, template):
    live = live_event(patient)
    with pytest.raises(TaskConflict, match="Only an open task of an event that is done or missed is closed this way."):
        task_close_left_open(task=task_of(live, "Line flushed"), actor=coordinator, outcome="not_done", reason="x")


def test_only_the_coordinator_or_the_tasks_owner_closes_it(patient, nurse, pharmacist, oncologist, template):
    done = done_event(patient, oncologist)
    with pytest.raises(PermissionDenied, match="Only the unit's coordinator, or the task's owner, may close"):
        task_close_left_open(task=task_of(done, "Line flushed"), actor=pharmacist, outcome="not_done", reason="x")


@pytest.mark.parametrize(
    ("outcome", "done_at", "reason", "field", "message"),
    [
        ("done_late", None, "On paper.", "done_at", "Give the date and time it was done."),
        ("done_late", dt.timedelta(hours=1), "On paper.", "done_at", "It cannot have been done in the future"),
        ("not_done", None, "  ", "reason", "Say why it was not done."),
        ("maybe", None, "On paper.", "outcome", "Choose whether it was done late or not done."),
    ],
)
def test_a_close_without_what_it_needs_is_refused_at_its_field_and_nothing_changes(
    patient, nurse, oncologist, coordinator, template, outcome, done_at, reason, field, message
):
    done = done_event(patient, oncologist)
    task = task_of(done, "Line flushed")
    when = timezone.now() + done_at if done_at else None
    with pytest.raises(ValidationError) as refused:
        task_close_left_open(task=task, actor=coordinator, outcome=outcome, reason=reason, done_at=when)
    assert any(message in said for said in refused.value.message_dict[field])
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN and not TaskActivity.objects.filter(
        task=task, action__in=["done_late", "not_done"]
    )


def test_a_late_completion_is_still_allowed_and_recorded_when_it_is_entered(patient, nurse, oncologist, template):
    done = done_event(patient, oncologist)
    task = task_complete(task=task_of(done, "Line flushed"), actor=nurse, value="yes")
    assert task.status == Task.Status.DONE


def test_the_close_page_takes_the_coordinator_back_to_the_board_with_what_was_done(
    client, patient, nurse, oncologist, coordinator, template
):
    done = done_event(patient, oncologist)
    task = task_of(done, "Line flushed")
    verified_login(client, coordinator)
    url = reverse("task_close", args=[task.pk]) + "?next=/board/"
    page = client.get(url).content.decode()
    assert "Close a task left open" in page and patient.mrn in page and "was left open" in page
    refused = client.post(url, {"outcome": "done_late", "reason": "On paper."}).content.decode()
    assert "Give the date and time it was done." in refused
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
    local = timezone.localtime(done.planned_at - dt.timedelta(hours=1), patient.unit.zone)
    answer = {
        "outcome": "done_late",
        "reason": "On paper.",
        "done_at_0": f"{local:%Y-%m-%d}",
        "done_at_1": f"{local:%H:%M}",
    }
    response = client.post(url, answer)
    assert response.status_code == 302 and response["Location"] == "/board/"
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.completed_at == local.replace(second=0, microsecond=0)


def test_the_close_page_is_refused_with_why_to_someone_who_may_not(client, patient, pharmacist, oncologist, template):
    done = done_event(patient, oncologist)
    client.force_login(pharmacist)
    response = client.get(reverse("task_close", args=[task_of(done, "Line flushed").pk]))
    assert response.status_code == 403
    assert "Only the unit&#x27;s coordinator, or the task&#x27;s owner, may close" in response.content.decode()


def test_a_close_posted_by_someone_who_may_not_goes_back_with_why_and_changes_nothing(
    client, patient, pharmacist, oncologist, template
):
    done = done_event(patient, oncologist)
    task = task_of(done, "Line flushed")
    client.force_login(pharmacist)
    response = client.post(reverse("task_close", args=[task.pk]), {"outcome": "not_done", "reason": "x"}, follow=True)
    assert "Only the unit&#x27;s coordinator, or the task&#x27;s owner, may close" in response.content.decode()
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN


# --- no snooze: it gets no more reminders ----------------------------------------------------------

LEFT_OPEN_SNOOZE = (
    "This task was left open when its event was done or missed: it gets no more reminders to snooze. "
    "Close it instead (done late, or not done)."
)


def test_a_task_left_open_offers_no_snooze_in_its_row_nor_in_the_events_reminders(
    client, patient, nurse, oncologist, template
):
    done = done_event(patient, oncologist)
    live = live_event(patient)
    client.force_login(nurse)
    for event, offered in ((live, True), (done, False)):
        page = client.get(reverse("event_detail", args=[event.pk])).content.decode()
        row = page.split(f'id="task-{task_of(event, "Line flushed").pk}"')[1].split('class="list-group-item task-row')[
            0
        ]
        assert ("Snooze reminders" in row) is offered
        panel = client.get(reverse("event_reminders", args=[event.pk])).content.decode()
        item = panel.split(f'id="reminders-task-{task_of(event, "Line flushed").pk}"')[1].split("</li>")[0]
        assert ("Snooze reminders" in item) is offered
    assert "Left open when the event was done: no more reminders" in item


def test_a_snooze_of_a_task_left_open_is_refused_with_why_and_nothing_is_saved(
    client, patient, nurse, oncologist, coordinator, template
):
    done = done_event(patient, oncologist)
    task = task_of(done, "Line flushed")
    with pytest.raises(ValidationError) as refused:
        task_snooze(task=task, actor=coordinator, until=timezone.now() + dt.timedelta(hours=1), reason="Busy")
    assert refused.value.message_dict["until"] == [LEFT_OPEN_SNOOZE]
    client.force_login(nurse)
    url = reverse("task_snooze", args=[task.pk])
    response = client.post(url, {"minutes": "60", "reason": "Busy"}, follow=True)
    assert response.status_code == 200
    assert LEFT_OPEN_SNOOZE in response.content.decode()
    assert not TaskSnooze.objects.filter(task=task).exists()
