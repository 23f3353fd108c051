import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from checklists.gate import blocker_key
from checklists.models import Task
from checklists.policy import assignable_users, can_be_assigned
from checklists.services import checklists_instantiate, task_complete

from ...accounts.helpers import verified_login
from ...checklists.helpers import blockers_listed, make_event, publish_template
from ...factories import CareTeamMemberFactory, PatientFactory, UserFactory

ITEMS = [
    {"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": 1, "max_value": 300},
    {"text": "Pump programmed and locked", "needs_verification": True, "verifier_role": "nurse"},
    {"text": "Order verified", "role": "pharmacist"},
    {"text": "Clear to start", "role": "oncologist", "response_kind": "attestation"},
]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def event(patient, nurse, nurse2, pharmacist, oncologist, coordinator):
    publish_template(items=ITEMS)
    soon = timezone.now() + dt.timedelta(hours=3)
    event = make_event(patient, planned_at=soon)
    checklists_instantiate(events=[event])
    return event


def task(event, text):
    return Task.objects.get(event=event, text=text)


def test_my_work_lists_the_nurses_tasks_with_their_urgency(client, nurse, event):
    Task.objects.filter(event=event, text="Weight").update(due_at=timezone.now() - dt.timedelta(minutes=5))
    client.force_login(nurse)
    body = client.get(reverse("home")).content.decode()
    assert "Weight" in body and "Pump programmed and locked" in body
    assert "Order verified" not in body  # the pharmacist's
    assert "Overdue" in body and "1 overdue" in body


def test_completing_with_a_value_updates_the_row_in_place(client, nurse, event):
    weight = task(event, "Weight")
    client.force_login(nurse)
    response = client.post(reverse("task_complete", args=[weight.pk]), {f"task-{weight.pk}-value": "72.5"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "taskChanged"
    assert "Done" in response.content.decode() and "72.5 kg" in response.content.decode()
    weight.refresh_from_db()
    assert weight.status == Task.Status.DONE and weight.completed_by == nurse


def test_a_wrong_value_shows_its_message_at_the_field_and_saves_nothing(client, nurse, event):
    weight = task(event, "Weight")
    client.force_login(nurse)
    response = client.post(reverse("task_complete", args=[weight.pk]), {f"task-{weight.pk}-value": "400"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "is-invalid" in body and "Must be 1–300 kg." in body
    weight.refresh_from_db()
    assert weight.status == Task.Status.OPEN


def test_a_bag_said_prepared_without_its_bag_is_refused_in_the_row_and_the_gate_still_waits(
    client, patient, pharmacist
):
    """Ticked without a bag, pharmacy's part of the bag change read done while the nurse's pump rate
    was refused for want of the bag (found walking the demo)."""
    item = {"text": "Next bag recorded and dispatched", "role": "pharmacist", "records": "bag_prepared"}
    publish_template(name="Bag change", trigger_kind="bag_change", items=[item])
    event = make_event(patient, kind="bag_change", planned_at=timezone.now() + dt.timedelta(hours=20))
    checklists_instantiate(events=[event])
    prepared = task(event, "Next bag recorded and dispatched")
    client.force_login(pharmacist)
    row = client.post(
        reverse("task_complete", args=[prepared.pk]), {f"task-{prepared.pk}-value": "on"}, **HTMX
    ).content.decode()
    assert "Record the bag for this bag change first: on the event&#x27;s page, under Bag" in row
    prepared.refresh_from_db()
    assert prepared.status == Task.Status.OPEN
    page = client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert "Record the bag prepared" in page and blockers_listed(event) == [blocker_key(prepared.pk, "open")]


def test_not_applicable_without_a_reason_shows_the_message_at_the_reason_field(client, nurse, event):
    line = task(event, "Weight")
    client.force_login(nurse)
    response = client.post(reverse("task_not_applicable", args=[line.pk]), {f"na-{line.pk}-reason": ""}, **HTMX)
    body = response.content.decode()
    assert "is-invalid" in body and "This field is required." in body and '<details class="mb-1" open>' in body
    line.refresh_from_db()
    assert line.status == Task.Status.OPEN


def test_not_applicable_with_a_reason_closes_the_task(client, nurse, event):
    line = task(event, "Weight")
    client.force_login(nurse)
    data = {f"na-{line.pk}-reason": "Weighed at the clinic this morning"}
    assert (
        "Not applicable" in client.post(reverse("task_not_applicable", args=[line.pk]), data, **HTMX).content.decode()
    )
    line.refresh_from_db()
    assert (line.status, line.not_applicable_reason) == (
        Task.Status.NOT_APPLICABLE,
        "Weighed at the clinic this morning",
    )


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_a_double_check_is_not_offered_as_not_applicable_and_is_refused_when_posted(client, nurse, event, headers):
    pump = task(event, "Pump programmed and locked")
    client.force_login(nurse)
    page = client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert reverse("task_not_applicable", args=[task(event, "Weight").pk]) in page  # offered where it may be
    assert reverse("task_not_applicable", args=[pump.pk]) not in page
    data = {f"na-{pump.pk}-reason": "Checked it myself twice"}
    response = client.post(reverse("task_not_applicable", args=[pump.pk]), data, follow=True, **headers)
    assert response.status_code == 200
    assert "independent double check cannot be skipped" in response.content.decode()
    pump.refresh_from_db()
    assert pump.status == Task.Status.OPEN


@pytest.mark.parametrize("value", ["0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "0001-01-01", "2026-03-02"])
@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_a_date_and_time_answer_out_of_the_calendar_or_without_its_time_is_refused_not_a_500(
    client, nurse, patient, headers, value
):
    publish_template(name="Line", items=[{"text": "Line placed at", "response_kind": "datetime"}])
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    placed = task(event, "Line placed at")
    client.force_login(nurse)
    response = client.post(
        reverse("task_complete", args=[placed.pk]), {f"task-{placed.pk}-value": value}, follow=True, **headers
    )
    assert response.status_code == 200
    assert "Give a date between 2000 and 2099" in response.content.decode() or "Give the time too" in (
        response.content.decode()
    )
    placed.refresh_from_db()
    assert placed.status == Task.Status.OPEN


def test_a_second_nurse_verifies_the_pump_double_check(client, nurse, nurse2, event):
    pump = task(event, "Pump programmed and locked")
    task_complete(task=pump, actor=nurse, value="on")
    client.force_login(nurse2)
    assert "Verify" in client.get(reverse("home")).content.decode()
    response = client.post(
        reverse("task_verify", args=[pump.pk]), {"version": Task.objects.get(pk=pump.pk).state_version}, **HTMX
    )
    assert "Verified by" in response.content.decode()
    pump.refresh_from_db()
    assert pump.verified_by == nurse2


def test_the_completer_cannot_verify_their_own_work(client, nurse, event):
    pump = task(event, "Pump programmed and locked")
    task_complete(task=pump, actor=nurse, value="on")
    client.force_login(nurse)
    response = client.post(reverse("task_verify", args=[pump.pk]), **HTMX)
    assert "someone other than" in response.content.decode()
    pump.refresh_from_db()
    assert pump.verified_by is None


def test_the_event_turns_ready_when_every_role_is_done(client, nurse, nurse2, pharmacist, oncologist, event):
    client.force_login(nurse)
    url = reverse("event_detail", args=[event.pk])
    assert "Work under way" in client.get(url).content.decode()  # nothing late yet: not red
    task_complete(task=task(event, "Weight"), actor=nurse, value="70")
    pump = task(event, "Pump programmed and locked")
    task_complete(task=pump, actor=nurse, value="on")
    client.force_login(nurse2)
    client.post(reverse("task_verify", args=[pump.pk]), {"version": Task.objects.get(pk=pump.pk).state_version})
    task_complete(task=task(event, "Order verified"), actor=pharmacist, value="on")
    task_complete(task=task(event, "Clear to start"), actor=oncologist, value="attested")
    body = client.get(reverse("patient_detail", args=[event.patient_id])).content.decode()
    assert "Ready" in body and "Not ready" not in body and "Work under way" not in body


def test_the_oncologist_overrides_a_blocked_gate_with_a_reason(client, oncologist, event):
    client.force_login(oncologist)
    page = client.get(reverse("event_detail", args=[event.pk])).content.decode()
    assert "This override lets the event start without:" in page
    assert "I have reviewed the 4 items listed and take responsibility for starting without them." in page
    url = reverse("event_override", args=[event.pk])
    listed = blockers_listed(event)
    assert len(listed) == 4
    refused = client.post(url, {"reason": "ok", "justification": "done_elsewhere", "covers": listed}).content.decode()
    assert "Write at least 20 characters" in refused and "This field is required." in refused  # not confirmed
    data = {
        "reason": "Weight taken on paper; pump checked by the charge nurse.",
        "justification": "done_elsewhere",
        "confirm": "on",
        "covers": listed,
    }
    response = client.post(url, data, follow=True).content.decode()
    assert '<span class="badge text-bg-warning">Overridden</span>' in response
    assert "text-bg-success" not in response.split('id="event-gate"')[1].split("</div>")[0]
    assert "(done and documented outside the tracker (paper, another system)): “Weight taken on paper" in response


def test_an_override_confirmed_on_a_list_that_has_changed_is_asked_again(client, oncologist, pharmacist, event):
    client.force_login(oncologist)
    listed = blockers_listed(event)
    task_complete(task=task(event, "Order verified"), actor=pharmacist, value="on")  # 3 items now, not 4
    data = {"reason": "Weight taken on paper; pump checked.", "justification": "done_elsewhere", "confirm": "on"}
    page = client.post(reverse("event_override", args=[event.pk]), {**data, "covers": listed}).content.decode()
    assert "What blocks the event changed while you looked: 3 items now." in page
    now_listed = blockers_listed(event)
    assert "I have reviewed the 3 items listed" in page
    assert [f'name="covers" value="{key}"' in page for key in now_listed] == [True] * 3
    assert f'value="{(set(listed) - set(now_listed)).pop()}"' not in page
    assert not event.checklists.filter(overridden_at__isnull=False).exists()


def test_an_override_refused_by_the_service_without_a_field_is_said_not_a_server_error(
    client, oncologist, event, monkeypatch
):
    """A double-clicked override: the second request passes the page's check before the first
    commits, and the service then finds the gate ready (or the event settled), a refusal that
    names no field. It gave a 500."""
    from checklists.policy import can_override_gate
    from coordination.worklist.views import event as event_views

    def settled_meanwhile(*, event, **kwargs):
        event.status = "done"
        can_override_gate(oncologist, event).enforce()

    monkeypatch.setattr(event_views, "event_gate_override", settled_meanwhile)
    client.force_login(oncologist)
    data = {"reason": "Weight taken on paper; pump checked.", "justification": "done_elsewhere", "confirm": "on"}
    response = client.post(reverse("event_override", args=[event.pk]), {**data, "covers": blockers_listed(event)})
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "This event is done: its gate can no longer be overridden." in page


def test_the_board_counts_the_overrides_of_the_week_for_the_coordinator(client, oncologist, coordinator, event):
    from ...checklists.helpers import override_gate

    override_gate(event, oncologist, reason="Weight taken on paper; pump checked.", justification="done_elsewhere")
    verified_login(client, coordinator)
    board = client.get(reverse("board")).content.decode()
    assert "Gates overridden in the last 7 days (1)" in board
    assert f"(MRN {event.patient.mrn})" in board and "Done and documented outside the tracker" in board


def test_a_nurse_cannot_override_the_gate(client, nurse, event):
    client.force_login(nurse)
    response = client.post(reverse("event_override", args=[event.pk]), {"reason": "in a hurry"}, follow=True)
    assert "Only an oncologist" in response.content.decode()
    assert not event.checklists.filter(override_reason__gt="").exists()


@pytest.mark.parametrize("name", ["patient_detail", "event_detail", "task_complete", "task_claim", "task_verify"])
def test_pages_of_another_teams_patient_are_404(client, outsider, event, name):
    client.force_login(outsider)
    target = {"patient_detail": event.patient_id, "event_detail": event.pk}.get(name) or task(event, "Weight").pk
    response = (
        client.post(reverse(name, args=[target]))
        if name.startswith("task_")
        else client.get(reverse(name, args=[target]))
    )
    assert response.status_code == 404


def test_a_task_of_another_team_posted_in_a_form_changes_nothing(client, outsider, event):
    weight = task(event, "Weight")
    client.force_login(outsider)
    response = client.post(reverse("task_complete", args=[weight.pk]), {f"task-{weight.pk}-value": "70"})
    assert response.status_code == 404
    weight.refresh_from_db()
    assert weight.status == Task.Status.OPEN


def test_the_board_shows_blocked_events_and_overdue_work_to_the_coordinator(client, coordinator, nurse, event):
    Task.objects.filter(event=event, text="Weight").update(due_at=timezone.now() - dt.timedelta(hours=1))
    verified_login(client, coordinator)
    body = client.get(reverse("board")).content.decode()
    assert "Not ready: past their time or in the next 72 hours (1)" in body
    assert "<strong>Starting within 6 hours</strong>: 1 event, waiting for pharmacist (1), nurse (1)" in body
    assert "Overdue tasks (1)" in body and "<strong>Unclaimed (pool)</strong>: 1 overdue" in body
    # Each summary's list opens on demand: what blocks each event, whose part it is; the overdue tasks.
    events = client.get(reverse("board_not_ready") + "?window=1", **HTMX).content.decode()
    assert "<strong>Nurse</strong>: " in events and "Weight" in events and f'href="/events/{event.pk}/"' in events
    overdue = client.get(reverse("board_overdue") + "?role=nurse&assignee=pool", **HTMX).content.decode()
    assert "Weight" in overdue and "<html" not in overdue


def test_the_coordinator_reassigns_an_overdue_task_from_the_board(client, coordinator, nurse, nurse2, event):
    weight = task(event, "Weight")
    verified_login(client, coordinator)
    data = {f"reassign-{weight.pk}-assignee": nurse2.pk, f"reassign-{weight.pk}-reason": "Nora is off sick"}
    client.post(reverse("task_reassign", args=[weight.pk]), {**data, "version": weight.state_version})
    weight.refresh_from_db()
    assert weight.assignee == nurse2


def test_the_board_opens_a_reassignment_form_only_when_asked(client, coordinator, nurse, nurse2, event):
    weight = task(event, "Weight")
    Task.objects.filter(pk=weight.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    verified_login(client, coordinator)
    board = client.get(reverse("board")).content.decode()
    list_url = reverse("board_overdue") + "?role=nurse&amp;assignee=pool"
    assert f'data-hx-get="{list_url}" data-hx-trigger="toggle from:closest details once"' in board
    assert "Weight" not in board.split('id="overdue"')[1]  # no task until its person's line is opened

    tasks = client.get(reverse("board_overdue") + "?role=nurse&assignee=pool", **HTMX).content.decode()
    form_url = reverse("task_reassign", args=[weight.pk])
    assert f'data-hx-get="{form_url}" data-hx-trigger="toggle from:closest details once"' in tasks
    assert f"reassign-{weight.pk}-assignee" not in tasks  # no form until opened
    opened = client.get(form_url, HTTP_HX_REQUEST="true").content.decode()
    assert f'name="reassign-{weight.pk}-assignee"' in opened and f'<option value="{nurse2.pk}">' in opened
    assert "<html" not in opened
    page = client.get(form_url).content.decode()  # without JavaScript: its own page
    assert '<h1 class="h3">Reassign a task</h1>' in page and f'name="reassign-{weight.pk}-reason"' in page


def test_the_reassignment_form_offers_whom_the_task_policy_lets_be_given_the_task(
    client, coordinator, nurse, nurse2, pharmacist, event
):
    weight = task(event, "Weight")
    nurse2.is_active = False
    nurse2.save()
    verified_login(client, coordinator)
    opened = client.get(reverse("task_reassign", args=[weight.pk]), **HTMX).content.decode()
    offered = {int(pk) for pk in re.findall(r'<option value="(\d+)"', opened)}
    assert offered == {user.pk for user in assignable_users(weight)} == {nurse.pk}
    assert [bool(can_be_assigned(user, weight)) for user in (nurse, nurse2, pharmacist)] == [True, False, False]


def test_the_reassignment_form_asks_whom_in_words(client, coordinator, nurse, event):
    """Found by a walk through the board: Django's "---------" was the first option of "Give to"."""
    verified_login(client, coordinator)
    opened = client.get(reverse("task_reassign", args=[task(event, "Weight").pk]), **HTMX).content.decode()
    assert "---------" not in opened and "Choose who takes it…</option>" in opened


@pytest.mark.parametrize(("who", "status"), [("nurse", 403), ("outsider", 404), ("another_units_coordinator", 403)])
def test_only_the_units_coordinator_opens_the_reassignment_form(client, request, event, who, status):
    verified_login(client, request.getfixturevalue(who))
    assert client.get(reverse("task_reassign", args=[task(event, "Weight").pk])).status_code == status


@pytest.fixture
def another_units_coordinator(other_ward, patient):
    """A coordinator of another unit who sits on this patient's care team: sees the patient, is
    not the coordinator of the patient's unit."""
    user = UserFactory(username="coordinator2", role="coordinator", unit=other_ward)
    CareTeamMemberFactory(patient=patient, user=user, role="coordinator")
    return user


def test_the_reassignment_page_is_logged_as_a_look_at_the_task(client, coordinator, event):
    weight = task(event, "Weight")
    verified_login(client, coordinator)
    client.get(reverse("task_reassign", args=[weight.pk]))
    look = AuditEvent.objects.get(action="view", object_type="checklists.task")
    assert look.object_id == str(weight.pk) and look.patient_id == event.patient_id and look.actor_id == coordinator.pk


def test_the_board_is_for_coordinators(client, nurse):
    client.force_login(nurse)
    assert client.get(reverse("board")).status_code == 403


# --- a constant number of queries, with 1 row and with 50 ---------------------------------


def _patients_with_events(ward, team, count):
    publish_template(items=ITEMS, name=f"Start {count}")
    events = []
    for _ in range(count):
        patient = PatientFactory(unit=ward)
        for user in team:
            CareTeamMemberFactory(patient=patient, user=user, role=user.role)
        events.append(make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=2)))
    checklists_instantiate(events=events)
    Task.objects.filter(text="Weight").update(due_at=timezone.now() - dt.timedelta(hours=1))
    return events


def _count(client, django_assert_max_num_queries, url, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("page", ["home", "board", "patient_detail"])
def test_pages_use_the_same_number_of_queries_for_1_and_50_rows(
    client, ward, nurse, coordinator, django_assert_max_num_queries, page, time_machine
):
    # The clock stands still: the sign-in middleware writes the session's activity once a minute,
    # and building 50 rows can take that long on a loaded machine.
    time_machine.move_to(timezone.now(), tick=False)
    team = [nurse]
    viewer = coordinator if page == "board" else nurse
    verified_login(client, viewer)
    counts = []
    for rows in (1, 50):
        events = _patients_with_events(ward, team, rows)
        if page == "patient_detail":
            patient = events[0].patient
            for other in events[1:]:  # pile the events onto one patient
                other.patient = patient
                other.cycle = events[0].cycle
                other.save()
                Task.objects.filter(event=other).update(patient=patient)
            url = reverse("patient_detail", args=[patient.pk])
        else:
            url = reverse(page)
        # The patient page reads the toxicity watch too (open alerts, latest assessment and home
        # check, pump events, who may assess): five reads that do not grow with the rows.
        counts.append(_count(client, django_assert_max_num_queries, url, 25 if page == "patient_detail" else 20))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("gone", ["checklist", "event"])
@pytest.mark.parametrize("action", ["task_claim", "task_complete"])
def test_an_action_on_a_task_gone_since_the_page_was_drawn_says_so_in_its_row(
    client, nurse, event, monkeypatch, gone, action
):
    """A publication replaced the untouched checklist, or a shortened plan took the event off,
    between the view's read of the task and the service's lock: the row says what happened and
    asks for a reload; it was a server error."""
    from coordination.worklist.views import task_actions

    weight = task(event, "Weight")
    read = task_actions.get_task_for_user

    def read_then_lose(user, pk):
        found = read(user, pk)
        if gone == "checklist":
            found.checklist.delete()
        else:
            found.event.delete()
        return found

    monkeypatch.setattr(task_actions, "get_task_for_user", read_then_lose)
    client.force_login(nurse)
    response = client.post(reverse(action, args=[weight.pk]), {f"task-{weight.pk}-value": "72.5"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="task-{weight.pk}"' in body and "Weight" in body
    assert "no longer on the record" in body and "Reload the page" in body
    assert "HX-Trigger" not in response


def test_done_on_a_tick_that_waits_for_another_task_says_why_in_its_row(client, patient, nurse, pharmacist):
    """A tick's answer is a hidden field: a refusal at it ("First: …") must show in the row, not vanish."""
    publish_template(
        items=[{"text": "Order verified", "role": "pharmacist"}, {"text": "Bag hung"}],
        dependencies=[("Bag hung", "Order verified")],
    )
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    hang = task(event, "Bag hung")
    client.force_login(nurse)
    response = client.post(reverse("task_complete", args=[hang.pk]), {f"task-{hang.pk}-value": "on"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "First: Order verified." in body
    hang.refresh_from_db()
    assert hang.status == Task.Status.OPEN


@pytest.mark.parametrize("word", ["NaN", "abc", "home"])
def test_a_next_that_is_a_word_not_an_address_goes_back_home_not_to_a_500(client, nurse, event, word):
    """Found by review: Django's redirect() takes a word for a view's name, so `next=NaN` on a task
    action was a 500 (NoReverseMatch), and `next=home` went to whichever page has that name."""
    verified_login(client, nurse)
    response = client.post(reverse("task_claim", args=[task(event, "Weight").pk]), {"next": word})
    assert (response.status_code, response["Location"]) == (302, "/")
    assert task(event, "Weight").assignee == nurse
