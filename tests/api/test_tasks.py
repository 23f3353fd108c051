"""The task endpoints: the list, one task, and the six actions, as the task row does them."""

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import moments
from accounts.models import AuditEvent
from checklists.models import Task, TaskActivity
from checklists.recorded import assessment_answer
from checklists.services import checklists_instantiate, task_claim, task_complete, task_undo
from patients.models import Assessment

from ..checklists.helpers import make_event, publish_template
from ..factories import CareTeamMemberFactory, PatientFactory
from .helpers import bearer, token_for

ITEMS = [
    {"text": "Weight", "response_kind": "number", "unit": "kg", "min_value": 1, "max_value": 300},
    {"text": "Pump programmed", "needs_verification": True, "verifier_role": "nurse"},
]


@pytest.fixture
def tasks(patient, nurse):
    publish_template(items=ITEMS)
    event = make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))
    checklists_instantiate(events=[event])
    return {t.text.split()[0].lower(): t for t in Task.objects.filter(event=event)}


def post(client, name, task, secret, body=None, **extra):
    data = json.dumps(body) if body is not None else ""
    return client.post(
        reverse(f"api:task-{name}", args=[task.pk]), data, content_type="application/json", **bearer(secret), **extra
    )


def test_a_nurse_lists_her_patients_tasks_soonest_due_first(client, nurse, tasks):
    response = client.get(reverse("api:task-list"), **bearer(token_for(nurse)))
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["results"]] == sorted(
        (t.pk for t in tasks.values()), key=lambda pk: (Task.objects.get(pk=pk).due_at, pk)
    )
    assert body["next"] is None


def test_paging_through_the_task_list_gives_every_task_once_in_order_ties_included(client, nurse, patient, tasks):
    # Three events, two of them due at the same moment: their tasks tie on due time.
    for hours in (3, 5, 5):
        checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=hours))])
    Task.objects.filter(pk=tasks["pump"].pk).update(due_at=tasks["weight"].due_at)
    secret, seen = token_for(nurse), []
    url = reverse("api:task-list") + "?page_size=3"
    while url:
        body = client.get(url, **bearer(secret)).json()
        assert len(body["results"]) <= 3 and all(row["assignee"] is None for row in body["results"])
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == list(Task.objects.filter(patient=patient).order_by("due_at", "id").values_list("id", flat=True))
    assert len(seen) == 8


def test_the_outsider_sees_no_task_and_a_foreign_task_is_not_found(client, outsider, tasks):
    secret = token_for(outsider)
    assert client.get(reverse("api:task-list"), **bearer(secret)).json()["results"] == []
    response = client.get(reverse("api:task-detail", args=[tasks["weight"].pk]), **bearer(secret))
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert AuditEvent.objects.filter(object_type="checklists.task", outcome="denied", actor_id=outsider.pk).exists()


def test_claiming_through_the_api_is_logged_under_the_tokens_user(client, nurse, tasks):
    response = post(client, "claim", tasks["weight"], token_for(nurse))
    assert response.status_code == 200, response.content
    assert response.json()["assignee"]["id"] == nurse.pk
    row = AuditEvent.objects.filter(action="claim", object_type="checklists_task").latest("id")
    assert (row.actor_id, row.actor_username) == (nurse.pk, nurse.username)


def test_completing_gives_the_services_message_at_the_field(client, nurse, tasks):
    response = post(client, "complete", tasks["weight"], token_for(nurse), {"value": "heavy"})
    assert response.status_code == 400
    problem = response.json()
    assert problem["status"] == 400 and problem["errors"]["value"] == [
        "Enter a number with the digits 0–9, for example 65.5."
    ]
    assert Task.objects.get(pk=tasks["weight"].pk).status == Task.Status.OPEN


def test_completing_records_the_answer(client, nurse, tasks):
    response = post(client, "complete", tasks["weight"], token_for(nurse), {"value": 70.5})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done" and response.json()["value"] == "70.5 kg"


def test_a_refusal_says_the_policys_sentence_as_the_page_does(client, pharmacist, tasks):
    response = post(client, "claim", tasks["weight"], token_for(pharmacist))
    assert response.status_code == 403
    from checklists.policy import can_claim

    assert response.json()["detail"] == can_claim(pharmacist, tasks["weight"]).reason


def test_a_stale_task_state_is_a_conflict_and_changes_nothing(client, nurse, nurse2, tasks):
    task_complete(task=tasks["weight"], actor=nurse2, value="70")
    secret = token_for(nurse)
    before = AuditEvent.objects.count()
    response = post(client, "complete", tasks["weight"], secret, {"value": "71"})
    assert response.status_code == 409
    assert response.json()["code"] == "conflict" and response.json()["detail"]
    assert Task.objects.get(pk=tasks["weight"].pk).value == "70 kg"
    assert AuditEvent.objects.count() == before


def test_a_client_retrying_its_completion_gets_the_task_as_it_did_it(client, nurse, tasks):
    # The answer to the first request was lost (a timeout, a dropped connection): the retry of the
    # very same completion is answered as the first was, and changes nothing, nor logs it twice.
    secret = token_for(nurse)
    first = post(client, "complete", tasks["weight"], secret, {"value": "70.5"})
    assert first.status_code == 200, first.content
    before = AuditEvent.objects.count(), TaskActivity.objects.count()
    again = post(client, "complete", tasks["weight"], secret, {"value": 70.5})
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert (AuditEvent.objects.count(), TaskActivity.objects.count()) == before
    # Another answer is no retry: it is refused, and the first answer stands.
    other = post(client, "complete", tasks["weight"], secret, {"value": "71"})
    assert other.status_code == 409 and other.json()["detail"].startswith("Already completed by you")
    assert Task.objects.get(pk=tasks["weight"].pk).value == "70.5 kg"


def test_a_conflicts_time_is_on_the_callers_unit_clock(client, nurse, tasks):
    """Found by a review: the unit's clock is set for a signed-in page before the view runs, but a
    token's user is known only in the view, so a token caller read the server's clock (UTC) in
    "Already completed … at 14:03", where the ward's own pages say 09:03."""
    secret = token_for(nurse)
    assert post(client, "complete", tasks["weight"], secret, {"value": "70.5"}).status_code == 200
    done = Task.objects.get(pk=tasks["weight"].pk)
    other = post(client, "complete", tasks["weight"], secret, {"value": "71"})
    on_the_ward = moments.moment_short(done.completed_at, nurse.unit.zone)
    assert other.json()["detail"] == f"Already completed by you at {on_the_ward}."


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        ("{not json", "application/json", None),
        (json.dumps({"value": "70", "colour": "red"}), "application/json", "colour"),
        (json.dumps({"value": ["70"]}), "application/json", "value"),
        (json.dumps({"value": "70", "confirmed": "perhaps"}), "application/json", "confirmed"),
        (json.dumps([1, 2]), "application/json", "non_field_errors"),
        ("value=70", "application/x-www-form-urlencoded", None),
        ("[" * 100_000 + "]" * 100_000, "application/json", None),
        ('{"value": "70", "\\ud800": 1}', "application/json", None),
    ],
    ids=[
        "malformed",
        "unknown-field",
        "wrong-type",
        "wrong-boolean",
        "not-an-object",
        "not-json",
        "nested-too-deep",
        "lone-surrogate",
    ],
)
def test_bad_input_is_a_clear_json_error_and_changes_nothing(client, nurse, tasks, body, content_type, field):
    response = client.post(
        reverse("api:task-complete", args=[tasks["weight"].pk]),
        body,
        content_type=content_type,
        **bearer(token_for(nurse)),
    )
    assert response.status_code in (400, 415)
    problem = response.json()
    assert problem["status"] == response.status_code and problem["detail"]
    if field:
        assert field in problem["errors"]
    assert Task.objects.get(pk=tasks["weight"].pk).status == Task.Status.OPEN


def read(client, task, secret) -> dict:
    """The task as the caller reads it (its `version` among the rest)."""
    response = client.get(reverse("api:task-detail", args=[task.pk]), **bearer(secret))
    assert response.status_code == 200, response.content
    return response.json()


def test_verify_and_undo_follow_the_task_row(client, nurse, nurse2, tasks):
    pump = tasks["pump"]
    task_complete(task=pump, actor=nurse2, value=True)
    secret = token_for(nurse)
    seen = read(client, pump, secret)["version"]
    verified = post(client, "verify", pump, secret, {"version": seen}).json()
    assert verified["verified_by"]["id"] == nurse.pk
    missing = post(client, "undo", pump, secret, {"reason": "", "version": verified["version"]})
    assert missing.status_code == 400 and missing.json()["errors"]["reason"] == ["Say why the completion is undone."]
    undone = post(client, "undo", pump, secret, {"reason": "Wrong pump", "version": verified["version"]})
    assert undone.json()["status"] == "open"


@pytest.mark.parametrize("name", ["undo", "verify"])
def test_undo_and_verify_without_the_version_read_are_refused_at_its_field(client, nurse, nurse2, tasks, name):
    pump = tasks["pump"]
    task_complete(task=pump, actor=nurse2, value=True)
    body = {"reason": "Wrong pump"} if name == "undo" else {}
    response = post(client, name, pump, token_for(nurse), body)
    assert response.status_code == 400 and "version" in response.json()["errors"]
    pump.refresh_from_db()
    assert pump.status == Task.Status.DONE and pump.verified_by is None


def test_an_undo_of_an_answer_given_since_it_was_read_is_a_conflict_that_says_what_it_is_now(
    client, nurse, nurse2, tasks
):
    """Nurse A reads the weight done by B (70 kg); B undoes it and answers 75 kg. A's undo, meant
    for the 70 she saw, reopened B's 75, which she never saw."""
    weight = tasks["weight"]
    task_complete(task=weight, actor=nurse2, value="70")
    secret = token_for(nurse)
    seen = read(client, weight, secret)["version"]
    task_undo(task=weight, actor=nurse2, reason="Scale not zeroed")
    task_complete(task=weight, actor=nurse2, value="75")
    response = post(client, "undo", weight, secret, {"reason": "Typo", "version": seen})
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    detail = response.json()["detail"]
    assert detail.startswith("This task changed since you saw it: it is now done by") and "(75 kg)" in detail
    assert "Nothing was undone" in detail
    weight.refresh_from_db()
    assert weight.status == Task.Status.DONE and weight.value == "75 kg"


def test_a_verification_of_a_completion_redone_since_it_was_read_is_a_conflict(client, nurse, nurse2, tasks):
    """The double check is of the completion the verifier saw: one undone and done again since, even
    with the same answer, is another completion, which nobody has checked."""
    pump = tasks["pump"]
    task_complete(task=pump, actor=nurse2, value=True)
    secret = token_for(nurse)
    seen = read(client, pump, secret)["version"]
    task_undo(task=pump, actor=nurse2, reason="Line reprimed")
    task_complete(task=pump, actor=nurse2, value=True)
    response = post(client, "verify", pump, secret, {"version": seen})
    assert response.status_code == 409 and "Nothing was verified" in response.json()["detail"]
    pump.refresh_from_db()
    assert pump.verified_by is None


def test_a_client_retrying_its_verification_gets_the_task_as_it_verified_it(client, nurse, nurse2, tasks):
    pump = tasks["pump"]
    task_complete(task=pump, actor=nurse2, value=True)
    secret = token_for(nurse)
    seen = {"version": read(client, pump, secret)["version"]}
    first = post(client, "verify", pump, secret, seen)
    assert first.status_code == 200, first.content
    before = AuditEvent.objects.count(), TaskActivity.objects.count()
    again = post(client, "verify", pump, secret, seen)
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert (AuditEvent.objects.count(), TaskActivity.objects.count()) == before


def _retried(client, name, task, secret, body=None):
    """The action twice, the answer to the first lost: the retry answers as the first did, and
    changes and logs nothing more."""
    first = post(client, name, task, secret, body)
    assert first.status_code == 200, first.content
    before = AuditEvent.objects.count(), TaskActivity.objects.count()
    again = post(client, name, task, secret, body)
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert (AuditEvent.objects.count(), TaskActivity.objects.count()) == before
    return first.json()


def test_a_client_retrying_its_undo_gets_the_task_as_it_reopened_it(client, nurse, nurse2, tasks):
    weight = tasks["weight"]
    task_complete(task=weight, actor=nurse, value="70")
    secret = token_for(nurse)
    body = {"reason": "Scale not zeroed", "version": read(client, weight, secret)["version"]}
    assert _retried(client, "undo", weight, secret, body)["status"] == "open"
    # Another reason is another undo, of a task that is open: refused.
    other = post(client, "undo", weight, secret, {**body, "reason": "Typo"})
    assert other.status_code == 409
    # So is the same request from another caller: it was not theirs.
    assert post(client, "undo", weight, token_for(nurse2), body).status_code == 409


def test_a_client_retrying_its_marking_not_applicable_gets_the_task_as_it_marked_it(client, nurse, nurse2, tasks):
    weight = tasks["weight"]
    secret = token_for(nurse)
    body = {"reason": "Weighed yesterday"}
    assert _retried(client, "not-applicable", weight, secret, body)["status"] == "not_applicable"
    assert post(client, "not-applicable", weight, secret, {"reason": "Other"}).status_code == 409
    assert post(client, "not-applicable", weight, token_for(nurse2), body).status_code == 409
    assert Task.objects.get(pk=weight.pk).not_applicable_reason == "Weighed yesterday"


def test_a_client_retrying_its_release_gets_the_task_as_it_released_it(client, nurse, nurse2, tasks):
    weight = tasks["weight"]
    task_claim(task=weight, actor=nurse)
    secret = token_for(nurse)
    assert _retried(client, "release", weight, secret)["assignee"] is None
    # Claimed by a colleague since: no longer a retry of anything, and not the nurse's to release.
    task_claim(task=weight, actor=nurse2)
    assert post(client, "release", weight, secret).status_code == 403
    assert Task.objects.get(pk=weight.pk).assignee == nurse2


def test_a_release_retried_by_another_than_who_released_it_stays_a_conflict(client, nurse, nurse2, tasks):
    weight = tasks["weight"]
    task_claim(task=weight, actor=nurse)
    assert post(client, "release", weight, token_for(nurse)).status_code == 200
    assert post(client, "release", weight, token_for(nurse2)).status_code in (403, 409)


def test_a_client_retrying_its_claim_gets_the_task_as_it_claimed_it(client, nurse, nurse2, tasks):
    secret = token_for(nurse)
    assert _retried(client, "claim", tasks["weight"], secret)["assignee"]["id"] == nurse.pk
    assert post(client, "claim", tasks["weight"], token_for(nurse2)).status_code == 409


def test_release_and_not_applicable(client, nurse, tasks):
    secret = token_for(nurse)
    task_claim(task=tasks["weight"], actor=nurse)
    assert post(client, "release", tasks["weight"], secret).json()["assignee"] is None
    done = post(client, "not-applicable", tasks["weight"], secret, {"reason": "Weighed yesterday"})
    assert done.json()["status"] == "not_applicable"


def _query_count(client, secret) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("api:task-list"), **bearer(secret)).status_code == 200
    return len(queries)


def test_the_task_list_costs_the_same_queries_for_one_patient_and_for_many(client, nurse, tasks, settings):
    settings.PAGE_CACHE_SECONDS = 0
    secret = token_for(nurse)
    task_claim(task=tasks["weight"], actor=nurse)
    _query_count(client, secret)  # the token's first use writes its last use
    few = _query_count(client, secret)
    for _ in range(5):
        other = PatientFactory(unit=nurse.unit)
        CareTeamMemberFactory(patient=other, user=nurse, role="nurse")
        event = make_event(other, planned_at=timezone.now() + dt.timedelta(hours=5))
        checklists_instantiate(events=[event])
        task_claim(task=Task.objects.filter(event=event).first(), actor=nurse)
    assert Task.objects.filter(patient__care_team__user=nurse).count() > len(tasks)
    assert _query_count(client, secret) == few


def test_a_path_without_its_trailing_slash_reaches_the_same_list(client, nurse, tasks):
    secret = token_for(nurse)
    assert client.get("/api/v1/tasks", **bearer(secret)).json() == client.get("/api/v1/tasks/", **bearer(secret)).json()


def test_an_address_that_is_no_route_is_a_404_in_problem_details(client, nurse):
    response = client.get("/api/v1/tasks/1.5/", **bearer(token_for(nurse)))
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "url", ["/api/v1/tasks/\u00b2/", "/api/v1/tasks/\u00b2/claim/", "/api/v1/tasks/?page_size=\u00b2"]
)
def test_a_digit_that_is_no_decimal_digit_is_a_clear_error_not_a_server_error(client, nurse, tasks, url):
    # "²" passes str.isdigit() but not int(): it must be refused as any other non-number is.
    secret = token_for(nurse)
    response = client.post(url, {}, content_type="application/json", **bearer(secret)) if "claim" in url else None
    response = response or client.get(url, **bearer(secret))
    assert response.status_code in (400, 404) and response["Content-Type"] == "application/problem+json"
    assert not Task.objects.exclude(assignee=None).exists()


@pytest.mark.parametrize("url", ["/api/v1/tasks/{}", "/api/v1/tasks/{}/claim", "/api/v1/patients/{}"])
def test_an_id_too_long_to_be_one_is_not_found_not_a_server_error(client, nurse, tasks, url):
    secret = token_for(nurse)
    url = url.format("1" * 70)
    response = client.post(url, {}, content_type="application/json", **bearer(secret)) if "claim" in url else None
    response = response or client.get(url, **bearer(secret))
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert not AuditEvent.objects.filter(outcome=AuditEvent.Outcome.DENIED).exists()  # no lookup, nothing to log


def test_an_assessment_task_answered_with_a_digit_that_is_no_number_is_refused_at_its_field(client, nurse, patient):
    item = {"text": "CRS and ICANS check", "response_kind": "text", "records": "toxicity_assessment"}
    publish_template(items=[item], name="Watch")  # as the starter library's CRS and ICANS check
    checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=3))])
    task = Task.objects.get(text="CRS and ICANS check")
    response = post(client, "complete", task, token_for(nurse), {"value": "assessment:\u00b2"})
    assert response.status_code == 400 and "value" in response.json()["errors"]
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN


def test_an_assessment_task_answered_with_last_months_assessment_is_refused_at_its_field(client, nurse, patient):
    item = {"text": "CRS and ICANS check", "response_kind": "text", "records": "toxicity_assessment"}
    publish_template(items=[item], name="Watch")
    checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=1))])
    task = Task.objects.get(text="CRS and ICANS check")
    old = Assessment.objects.create(
        patient=patient,
        assessed_at=timezone.now() - dt.timedelta(days=30),
        recorded_by=nurse,
        crs_grade=0,
        crs_rule="none",
        icans_grade=0,
    )
    response = post(client, "complete", task, token_for(nurse), {"value": assessment_answer(old)})
    assert response.status_code == 400
    assert "does not answer this check" in response.json()["errors"]["value"][0]
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN


@pytest.mark.parametrize("value", ["0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "2026-03-02"])
def test_a_date_and_time_answer_out_of_the_calendar_is_a_400_at_its_field(client, nurse, patient, value):
    publish_template(items=[{"text": "Line placed at", "response_kind": "datetime"}], name="Line")
    checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=1))])
    task = Task.objects.get(text="Line placed at")
    response = post(client, "complete", task, token_for(nurse), {"value": value})
    assert response.status_code == 400 and "value" in response.json()["errors"]
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN


def test_a_double_check_marked_not_applicable_is_a_400_that_says_why(client, nurse, tasks):
    response = post(client, "not-applicable", tasks["pump"], token_for(nurse), {"reason": "Checked it myself twice"})
    assert response.status_code == 400
    assert "independent double check cannot be skipped" in response.json()["errors"]["reason"][0]
    assert Task.objects.get(pk=tasks["pump"].pk).status == Task.Status.OPEN


# --- a date and time sent without an offset is UTC (README, REST API) --------------------------

EVENING_IN_NEW_YORK = dt.datetime(2026, 12, 7, 0, 53, tzinfo=dt.UTC)  # 19:53 on 6 December in New York


def datetime_task(patient, item: dict) -> Task:
    publish_template(items=[item], name="Times")
    checklists_instantiate(events=[make_event(patient, planned_at=EVENING_IN_NEW_YORK + dt.timedelta(hours=3))])
    return Task.objects.get(text=item["text"])


def test_a_premedication_time_sent_without_an_offset_is_read_as_utc_not_the_units_clock(
    client, nurse, patient, time_machine
):
    time_machine.move_to(EVENING_IN_NEW_YORK, tick=False)
    item = {"text": "Premedication given at", "response_kind": "datetime", "records": "premedication_time"}
    task = datetime_task(patient, item)
    # 20:00 UTC is 15:00 in New York, five hours ago; read on the unit's clock it was an hour ahead.
    response = post(client, "complete", task, token_for(nurse), {"value": "2026-12-06T20:00:00", "confirmed": True})
    assert response.status_code == 200, response.content
    # Kept as the page shows it (the unit's clock), with the regimen's window it missed.
    assert response.json()["value"].startswith("2026-12-06 15:00 (")


def test_a_date_and_time_answer_sent_without_an_offset_is_kept_with_utcs(client, nurse, patient, time_machine):
    time_machine.move_to(EVENING_IN_NEW_YORK, tick=False)
    task = datetime_task(patient, {"text": "Line placed at", "response_kind": "datetime"})
    secret = token_for(nurse)
    response = post(client, "complete", task, secret, {"value": "2026-12-06T20:00"})
    assert response.status_code == 200, response.content
    # Kept with its offset, so that the page, whose answers are on the unit's clock, cannot misread it.
    assert response.json()["value"] == "2026-12-06T20:00:00+00:00"
    task_undo(task=task, actor=nurse, reason="Again, with its offset")
    response = post(client, "complete", task, secret, {"value": "2026-12-06T15:00-05:00"})
    assert response.json()["value"] == "2026-12-06T15:00-05:00"  # one with an offset is kept as sent


def test_a_time_sent_with_a_repeated_hours_reading_is_still_utc(client, nurse, patient, time_machine):
    """The pages send which 01:30 of the night the clocks go back ("…, the second time"): sent to
    the API, the time is UTC's all the same, never read on the unit's clock for the words after it."""
    time_machine.move_to(EVENING_IN_NEW_YORK, tick=False)
    task = datetime_task(patient, {"text": "Line placed at", "response_kind": "datetime"})
    response = post(client, "complete", task, token_for(nurse), {"value": "2026-11-01T01:30, the second time"})
    assert response.status_code == 200, response.content
    assert response.json()["value"] == "2026-11-01T01:30:00+00:00"


# --- a NUL character, which PostgreSQL's text cannot hold, is refused at its field --------------


@pytest.mark.parametrize("value", ["ok\u0000evil", "\u0000"])
def test_a_nul_character_in_a_text_answer_is_a_400_at_its_field_not_a_server_error(client, nurse, patient, value):
    publish_template(items=[{"text": "Caregiver's questions", "response_kind": "text"}], name="Teaching")
    checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=1))])
    task = Task.objects.get(text="Caregiver's questions")
    response = post(client, "complete", task, token_for(nurse), {"value": value})
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["value"] == ["Null characters are not allowed."]
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN


def test_a_body_larger_than_the_limit_is_a_413_in_problem_details(client, nurse, tasks, settings):
    # DATA_UPLOAD_MAX_MEMORY_SIZE bounds every body; over it, Django refuses to read it, which REST
    # framework left to Django: its HTML "Bad Request (400)" page, for a client that reads JSON.
    body = json.dumps({"value": "70"}) + " " * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post(
        reverse("api:task-complete", args=[tasks["weight"].pk]),
        body,
        content_type="application/json",
        **bearer(token_for(nurse)),
    )
    assert response.status_code == 413, response.content
    assert response["Content-Type"] == "application/problem+json" and response.json()["detail"]
    assert Task.objects.get(pk=tasks["weight"].pk).status == Task.Status.OPEN


def test_a_lone_surrogate_in_a_text_answer_is_a_400_not_a_server_error(client, nurse, patient):
    # JSON's "\udc00" escape decodes to half of a UTF-16 pair, which no UTF-8 text can hold: the
    # database refused it (a 500) after the answer had passed every check.
    publish_template(items=[{"text": "Caregiver's questions", "response_kind": "text"}], name="Teaching")
    checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=1))])
    task = Task.objects.get(text="Caregiver's questions")
    response = client.post(
        reverse("api:task-complete", args=[task.pk]),
        '{"value": "ok \\udc00"}',
        content_type="application/json",
        **bearer(token_for(nurse)),
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json" and response.json()["detail"]
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN


def test_a_nul_character_reaching_the_service_is_refused_at_the_answers_field(nurse, patient):
    publish_template(items=[{"text": "Caregiver's questions", "response_kind": "text"}], name="Teaching")
    checklists_instantiate(events=[make_event(patient, planned_at=timezone.now() + dt.timedelta(hours=1))])
    task = Task.objects.get(text="Caregiver's questions")
    with pytest.raises(ValidationError) as refused:
        task_complete(task=task, actor=nurse, value="ok\x00evil")
    assert refused.value.message_dict == {"value": ["Null characters are not allowed."]}
