"""The audit log reads as many times for a page of many rows as for one, and its CSV download as
many times for many rows as for few."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent

from ..factories import UserFactory
from ..query_count import queries_of
from .helpers import verified_login


@pytest.fixture(autouse=True)
def _still_clock(time_machine):
    time_machine.move_to(timezone.now(), tick=False)


def _rows(count: int) -> None:
    """Reads of patients' records by as many people."""
    for n in range(count):
        audit_record(
            action=AuditEvent.Action.VIEW,
            object_type="patients.patient",
            object_id=n + 1,
            patient_id=n + 1,
            detail={"page": "detail", "patients": [n + 1]},
            actor=UserFactory(role="nurse"),
        )


@pytest.mark.parametrize("name", ["audit:log", "audit:export"])
def test_the_audit_log_reads_as_many_times_for_many_rows_as_for_one(client, admin_user, name):
    verified_login(client, admin_user)
    url = reverse(name) + "?action=view"
    _rows(1)
    client.get(url)
    one = queries_of(client, url)
    _rows(60)
    assert queries_of(client, url) == one
    export = client.get(reverse("audit:export") + "?action=view")
    assert b"".join(export.streaming_content).count(b"patients.patient") == 61


def test_the_audit_export_reads_the_log_a_chunk_at_a_time_from_the_last_id_and_keeps_every_row(
    client, admin_user, monkeypatch
):
    """A million-row log streams a chunk at a time (accounts.paging.keyset_chunks), newest first,
    no row lost or repeated where one chunk ends and the next begins."""
    from accounts import paging

    monkeypatch.setattr(paging, "CHUNK_SIZE", 4)
    verified_login(client, admin_user)
    _rows(10)
    expected = [str(pk) for pk in AuditEvent.objects.filter(action="view").order_by("-id").values_list("pk", flat=True)]
    with CaptureQueriesContext(connection) as captured:
        export = client.get(reverse("audit:export") + "?action=view")
        lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    assert [line.split(",")[0].strip('"') for line in lines[1:]] == expected and len(expected) == 10
    reads = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "accounts_auditevent"' in q["sql"]
    ]
    assert len(reads) == 3 and all("LIMIT 4" in sql and " OFFSET " not in sql.upper() for sql in reads), reads


def test_no_page_of_the_audit_log_counts_the_log_or_skips_rows_with_offset(client, admin_user):
    """On a log of millions of rows, COUNT(*) and a deep OFFSET cost seconds a page: every page is
    read from a row id down (or up), PAGE_SIZE + 1 rows by the primary key."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.audit_report import PAGE_SIZE

    for n in range(PAGE_SIZE * 2 + 1):
        audit_record(action=AuditEvent.Action.VIEW, object_type="patients.patient", object_id=n)
    verified_login(client, admin_user)
    url = reverse("audit:log") + "?action=view"
    client.get(url)
    statements = []
    for _ in range(2):  # the newest page, then the next older one
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url)
        statements += [query["sql"] for query in captured.captured_queries]
        older = re.search(r'href="\?([^"]*)">Older<', page.text)
        url = reverse("audit:log") + "?" + older[1].replace("&amp;", "&")
    reads = [sql for sql in statements if sql.startswith("SELECT") and 'FROM "accounts_auditevent"' in sql]
    assert reads and not [sql for sql in reads if "COUNT(" in sql.upper() or " OFFSET " in sql.upper()]
    assert all(f"LIMIT {PAGE_SIZE + 1}" in sql for sql in reads), reads


@pytest.mark.parametrize("outcome", ["failure", "denied"])
def test_the_outcome_filter_finds_the_rare_outcomes_by_their_own_index(outcome):
    """Measured on a million rows: a page of failures walked the log down by the primary key until
    it had a page of them (47 ms), and an outcome with no row walked all of it (260 ms)."""
    from django.http import QueryDict

    from accounts.audit_report import PAGE_SIZE, AuditFilter

    AuditEvent.objects.bulk_create(AuditEvent(action="view", object_type="patients.patient") for _ in range(3000))
    AuditEvent.objects.bulk_create(AuditEvent(action="login_failed", outcome="failure") for _ in range(3))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_auditevent")  # the planner sees a log of successes
    events = AuditFilter(QueryDict(f"outcome={outcome}"), queryset=AuditEvent.objects.order_by("-id")).qs
    plan = events.order_by("-pk")[: PAGE_SIZE + 1].explain()
    assert "audit_outcome_id_idx" in plan, plan


def _plan_of_the_first_page(query: str) -> str:
    """EXPLAIN of the one statement that reads the audit log's first page under `query`."""
    from django.http import QueryDict

    from accounts.audit_report import PAGE_SIZE, AuditFilter
    from accounts.paging import keyset_page

    filterset = AuditFilter(QueryDict(query), queryset=AuditEvent.objects.order_by("-id"))
    assert filterset.is_valid()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_auditevent")
    with CaptureQueriesContext(connection) as captured:
        keyset_page(filterset.rows, size=PAGE_SIZE)
    (read,) = [query["sql"] for query in captured.captured_queries if "accounts_auditevent" in query["sql"]]
    # The statement as sent carries the audit context first (accounts.audit), which EXPLAIN refuses.
    read = re.sub(r"^SELECT set_config\('care\.audit', '[^']*', true\); ", "", read)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + read)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_user_filter_reads_each_of_its_conditions_by_its_own_index():
    """Measured on a million rows: the user filter's OR (what they did, or a sign-in failed as
    them, by the detail's JSON or a refused token's user) walked the whole log down by the primary
    key for a name that did nothing (770 ms). Each condition now has its index, read a page deep."""
    UserFactory(username="someone")
    AuditEvent.objects.bulk_create(
        AuditEvent(action="view", actor_id=n % 3 + 1, actor_username=f"user{n % 3}", object_type="patients.patient")
        for n in range(3000)
    )
    plan = _plan_of_the_first_page("user=USER1")  # a thousand rows: a page of them is read, not all
    # Each condition its own part of the statement, read a page deep by its index (Append of
    # Limits), not one bitmap of all of the name's rows (BitmapOr), nor the primary key walked.
    for index in ("audit_actor_name_id_idx", "audit_tried_name_id_idx", "audit_refused_user_id_idx"):
        assert index in plan, plan
    assert "Append" in plan and "BitmapOr" not in plan and "accounts_auditevent_pkey" not in plan, plan


@pytest.mark.parametrize("query", ["user=reader", "start=2020-01-01&end=2099-12-31&action=view"])
def test_the_audit_log_reads_as_many_times_under_the_user_filter_or_a_period(client, admin_user, query):
    reader = UserFactory(username="reader", role="nurse")

    def reads(count: int) -> None:
        for n in range(count):
            audit_record(action=AuditEvent.Action.VIEW, object_type="patients.patient", object_id=n, actor=reader)

    verified_login(client, admin_user)
    reads(1)
    for name in ("audit:log", "audit:export"):
        url = reverse(name) + "?" + query
        client.get(url)
        one = queries_of(client, url)
        reads(60)
        assert queries_of(client, url) == one, name
