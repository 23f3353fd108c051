"""My work is kept rendered while nothing it shows changes (coordination.worklist.page_cache), and never
shows what has changed since: every change moves the audit log's newest change on."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record, change_version, scope_of
from accounts.models import READ_ACTIONS, AuditEvent
from checklists.models import Task
from checklists.services import checklists_instantiate, task_claim
from coordination.reminders.models import Notification
from coordination.worklist.page_cache import page_key
from patients.models import CareTeamMember, Patient

from ...checklists.helpers import make_event, publish_template

ITEMS = [{"text": "Weight", "response_kind": "number", "unit": "kg"}, {"text": "Pump programmed and locked"}]


@pytest.fixture
def tasks(patient, nurse, nurse2):
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    return {task.text: task for task in Task.objects.filter(event=event)}


def my_work(client) -> tuple[str, list[str]]:
    """The page, and the SQL it ran."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode(), [query["sql"] for query in queries]


def task_list(body: str) -> str:
    """The list itself (the page around it carries a CSRF token masked afresh each time)."""
    return body.split('<div id="my-work-list"', 1)[1].split("</main>", 1)[0]


OVERDUE = '<span class="badge text-bg-danger">Overdue</span>'


@pytest.fixture(autouse=True)
def _clock_stands_still(time_machine):
    """A kept page is kept within its minute (page_cache.page_key): two looks a test compares must
    not fall on either side of a minute's turn."""
    time_machine.move_to(timezone.now(), tick=False)


def reads_tasks(sql: list[str]) -> bool:
    return any('FROM "checklists_task"' in statement for statement in sql)


def test_a_second_look_at_an_unchanged_my_work_renders_nothing_again(client, nurse, tasks):
    client.force_login(nurse)
    first, first_sql = my_work(client)
    second, second_sql = my_work(client)
    assert reads_tasks(first_sql) and not reads_tasks(second_sql)
    assert task_list(second) == task_list(first) and "Weight" in task_list(second)


def test_a_kept_my_work_is_logged_as_a_read_like_a_rendered_one(client, nurse, patient, tasks):
    client.force_login(nurse)
    assert reads_tasks(my_work(client)[1]) and not reads_tasks(my_work(client)[1])
    looks = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, object_type="coordination.my_work")
    assert [(look.actor_id, look.detail) for look in looks.order_by("id")] == [
        (nurse.pk, {"patients": [patient.pk]})
    ] * 2


def test_a_colleagues_claim_shows_at_once(client, nurse, nurse2, tasks):
    client.force_login(nurse)
    assert "Weight" in task_list(my_work(client)[0])

    task_claim(task=tasks["Weight"], actor=nurse2)

    after, sql = my_work(client)
    assert reads_tasks(sql)
    assert "Weight" not in task_list(after)  # nurse2's now, no longer in the nurse's pool


def test_a_bulk_update_outside_any_service_shows_at_once(client, nurse, tasks):
    client.force_login(nurse)
    my_work(client)
    # Raw SQL, as a data fix would: the audit trigger still logs it, so the page sees it.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE checklists_task SET text = 'Weight on admission' WHERE id = %s", [tasks["Weight"].pk])
    after, _ = my_work(client)
    assert "Weight on admission" in after


def test_leaving_a_care_team_takes_its_tasks_off_my_work_at_once(client, nurse, patient, tasks):
    client.force_login(nurse)
    assert "Weight" in my_work(client)[0]
    CareTeamMember.objects.filter(patient=patient, user=nurse).delete()
    assert "Weight" not in my_work(client)[0]


def test_a_renamed_unit_shows_at_once(client, nurse, ward, tasks):
    client.force_login(nurse)
    assert "Haematology Ward 7 North" not in my_work(client)[0]
    ward.name = "Haematology Ward 7 North"
    ward.save()
    assert "Haematology Ward 7 North" in my_work(client)[0]


def test_the_actions_that_are_not_changes_are_actions_of_the_log():
    assert set(READ_ACTIONS) <= set(AuditEvent.Action.values)


def test_looks_and_sign_ins_do_not_count_as_changes(nurse, tasks):
    before = change_version()
    audit_record(action=AuditEvent.Action.VIEW, object_type="patients.patient", object_id=1)
    audit_record(action=AuditEvent.Action.LOGIN)
    assert change_version() == before
    Task.objects.filter(pk=tasks["Weight"].pk).update(text="Weight today")
    assert change_version() > before


def test_the_clock_moves_a_task_into_overdue_without_any_change(client, nurse, tasks, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    Task.objects.filter(pk=tasks["Weight"].pk).update(due_at=timezone.now() + dt.timedelta(minutes=5))
    client.force_login(nurse)
    assert OVERDUE not in my_work(client)[0]
    time_machine.shift(dt.timedelta(minutes=6))
    assert OVERDUE in my_work(client)[0]


def test_each_user_and_each_browser_has_its_own_rendering(rf, nurse, nurse2, tasks):
    def request_of(user, csrf_secret):
        request = rf.get(reverse("home"))
        request.user = user
        request.META["CSRF_COOKIE"] = csrf_secret
        return request

    mine = scope_of([tasks["Weight"].patient_id])
    one = page_key(request_of(nurse, "a" * 32), "my-work", mine)
    assert one == page_key(request_of(nurse, "a" * 32), "my-work", mine)
    assert one != page_key(request_of(nurse2, "a" * 32), "my-work", mine)  # another user
    assert one != page_key(request_of(nurse, "b" * 32), "my-work", mine)  # another browser: its forms' tokens
    more = scope_of([*mine.patient_ids, 10**9])
    assert one != page_key(request_of(nurse, "a" * 32), "my-work", more)  # another set of patients


def test_each_browser_of_a_user_gets_forms_that_work_in_it(nurse, tasks):
    def browser_with_kept_page():
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(nurse)
        rows = task_list(browser.get(reverse("home")).content.decode())  # the kept part, not the page around it
        return browser, rows.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]

    browser_with_kept_page()  # the ward's desktop keeps its rendering
    tablet, token = browser_with_kept_page()  # the tablet must not be given the desktop's
    claim = reverse("task_claim", args=[tasks["Weight"].pk])
    response = tablet.post(claim, {"csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert Task.objects.get(pk=tasks["Weight"].pk).assignee == nurse


def test_with_page_cache_seconds_zero_every_look_renders(client, nurse, tasks, settings):
    settings.PAGE_CACHE_SECONDS = 0
    client.force_login(nurse)
    my_work(client)
    assert reads_tasks(my_work(client)[1])


# --- the version of a reader's patients: changes elsewhere leave their page kept ------------------


def test_a_change_on_another_ward_leaves_the_nurses_page_kept(client, nurse, tasks, foreign_patient):
    publish_template(items=ITEMS, name="Bag change", trigger_kind="bag_change")
    elsewhere = make_event(foreign_patient, kind="bag_change", planned_at=timezone.now() + dt.timedelta(hours=5))
    checklists_instantiate(events=[elsewhere])
    client.force_login(nurse)
    my_work(client)
    Task.objects.filter(event=elsewhere).update(text="Changed on another ward")
    assert not reads_tasks(my_work(client)[1])  # kept: nothing of hers changed
    Task.objects.filter(pk=tasks["Weight"].pk).update(text="Weight on the ward scale")
    body, sql = my_work(client)
    assert reads_tasks(sql) and "Weight on the ward scale" in task_list(body)


def test_the_version_of_some_patients_moves_with_their_changes_and_with_records_of_no_patient(
    nurse, tasks, foreign_patient, ward
):
    mine = [tasks["Weight"].patient_id]
    before, everything = change_version(mine), change_version()
    foreign_patient.given_name = "Changed"
    foreign_patient.save()
    assert change_version(mine) == before and change_version() == everything + 1
    ward.name = "Ward renamed"  # a unit: a record of no patient, which any page may show
    ward.save()
    assert change_version(mine) == before + 1
    Task.objects.filter(pk=tasks["Weight"].pk).update(text="Weight today")
    assert change_version(mine) == before + 2


def test_the_scope_of_a_query_reads_its_ids_their_version_and_other_values_in_one_statement(
    nurse, tasks, foreign_patient
):
    mine = Patient.objects.visible_to(nurse).values_list("pk", flat=True)
    unread = Notification.objects.filter(recipient=nurse).values("recipient_id").annotate(n=Count("pk")).values("n")
    with CaptureQueriesContext(connection) as queries:
        scope = scope_of(mine, unread=unread)
    assert len(queries) == 1
    assert scope.patient_ids == [tasks["Weight"].patient_id]  # not the foreign patient
    assert scope.version == change_version(scope.patient_ids) == scope_of(scope.patient_ids).version
    assert scope.values == {"unread": None}  # no row: nothing unread
    Notification.objects.create(recipient=nurse, title="Reminder", body="Weight due")
    assert scope_of(mine, unread=unread).values == {"unread": 1}


def test_a_kept_my_work_costs_one_statement_beside_the_user_and_its_audit_row(client, nurse, tasks):
    client.force_login(nurse)
    my_work(client)
    body, sql = my_work(client)  # kept
    assert not reads_tasks(sql)
    assert len(sql) == 3, sql  # the user, the scope (ids, version, bell), the read's audit row; session from cache


def test_a_kept_patient_page_asks_whether_the_reader_sees_the_patient_in_its_one_statement(
    client, nurse, patient, tasks, outsider
):
    """The patient is not read apart from the page's scope: whether the reader sees them is asked
    there (issue 19: one query less on the patient page)."""
    client.force_login(nurse)
    url = reverse("patient_detail", args=[patient.pk])
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        kept = client.get(url)
    assert kept.status_code == 200 and f"<title>{patient.full_name}" in kept.content.decode()
    assert len(queries) == 3, [q["sql"] for q in queries]  # the user, the scope, the read's audit row
    read = AuditEvent.objects.filter(action="view", object_type="patients.patient").latest("id")
    assert (read.patient_id, read.actor_id, read.outcome) == (patient.pk, nurse.pk, "success")

    client.force_login(outsider)  # another team's: 404, logged as refused, whatever was kept
    assert client.get(url).status_code == 404
    refused = AuditEvent.objects.filter(object_type="patients.patient").latest("id")
    assert (refused.actor_id, refused.outcome) == (outsider.pk, "denied")
    assert client.get(reverse("patient_detail", args=[10**20])).status_code == 404
