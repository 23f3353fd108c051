"""The reminder ledger (its pages, summary and CSV), and a person's reminder settings."""

import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from coordination.models import Reminder, ReminderPreference

from ...accounts.helpers import verified_login
from ...factories import with_unmistakable_names
from .helpers import EVENT_AT, Kind, task

pytestmark = pytest.mark.usefixtures("eager_celery")


@pytest.fixture
def ledger(event, run):
    run(EVENT_AT + dt.timedelta(hours=1))
    return Reminder.objects.all()


@pytest.mark.parametrize("who", ["nurse", "pharmacist", "coord"])
def test_the_ledger_is_for_administrators_only(client, cast, who):
    if who == "coord":
        verified_login(client, cast[who])
    else:
        client.force_login(cast[who])
    assert client.get(reverse("reminder_ledger")).status_code == 403


def test_the_ledger_counts_by_state_shows_the_lag_and_filters(client, admin_user, ledger, cast):
    Reminder.objects.filter(pk=ledger.first().pk).update(state=Reminder.State.FAILED, sent_at=None)
    with_unmistakable_names(cast["nurse"].care_teams.first().patient)  # the ledger must not name it
    verified_login(client, admin_user)
    ledger_page = client.get(reverse("reminder_ledger"))
    # Counting reads every matching row: the ledger offers it, under its filters, rather than run it.
    assert "counts" not in ledger_page.context and 'href="/reminders/summary/">Count them<' in ledger_page.text
    response = client.get(reverse("reminder_ledger_summary"))
    assert response.status_code == 200 and "Lag, 95th percentile" in response.text
    counts = response.context["counts"]
    assert counts["failed"] == 1 and counts["sent"] == ledger.count() - 1 and counts["pending"] == 0
    lags = sorted(r.sent_at - r.fire_at for r in Reminder.objects.filter(state=Reminder.State.SENT))
    assert response.context["lags"] == {
        "median": lags[len(lags) // 2],
        "p95": lags[min(len(lags) - 1, int(0.95 * len(lags)))],
        "max": lags[-1],
    }
    body = response.content.decode()
    assert "Reminder ledger" in body and event_text_absent(body, cast)
    only = client.get(reverse("reminder_ledger"), {"kind": "escalation", "recipient": "COORDINATOR"})
    assert {r.kind for r in only.context["page"]} == {"escalation"}
    assert {r.recipient.username for r in only.context["page"]} == {"coordinator"}
    failed = client.get(reverse("reminder_ledger"), {"state": "failed"})
    assert len(failed.context["page"]) == 1 and "1 reminder." in failed.text
    assert 'href="/reminders/summary/?state=failed">Count them<' in failed.text
    summary = client.get(reverse("reminder_ledger_summary"), {"state": "failed"}, headers={"HX-Request": "true"})
    assert summary.context["counts"]["failed"] == summary.context["counts"]["total"] == 1
    assert "<html" not in summary.text  # the panel the ledger opens, not a page
    backwards = client.get(reverse("reminder_ledger"), {"start": "2026-03-05", "end": "2026-03-01"})
    assert "The end of the period comes before its start." in backwards.content.decode()
    assert list(backwards.context["page"]) == []
    backwards = client.get(reverse("reminder_ledger_summary"), {"start": "2026-03-05", "end": "2026-03-01"})
    assert backwards.context["counts"]["total"] == 0


def test_the_ledger_downloads_as_csv_under_its_filters_every_page_and_logs_the_export(client, admin_user, ledger):
    verified_login(client, admin_user)
    response = client.get(reverse("reminder_ledger"), {"kind": "escalation", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    escalations = ledger.filter(kind="escalation")
    assert rows[0][:3] == ["Written (UTC)", "Kind", "About"] and len(rows) == escalations.count() + 1
    assert {row[1] for row in rows[1:]} == {escalations.first().get_kind_display()}
    (export,) = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)
    assert export.object_type == "coordination.reminder_ledger" and export.detail["filters"] == {"kind": "escalation"}
    assert export.detail["patients"] == sorted({r.task.patient_id for r in escalations if r.task_id})
    assert "Download CSV" in client.get(reverse("reminder_ledger")).content.decode()


def _ledger_csv_as_it_was(reminders) -> list[list[str]]:
    """The ledger's CSV as the view built it in memory before it streamed (a copy of that code,
    kept as the reference): its header and rows, newest first."""
    from accounts.csv_export import csv_cell
    from coordination.exports import local

    utc = dt.UTC
    header = ["Written (UTC)", "Kind", "About", "Patient id", "Recipient", "Due (UTC)", "State", "Sent (UTC)"]
    header += ["Lag (s)", "Channels", "Handed over", "Failed attempts", "Note"]
    rows = [
        [local(r.created_at, utc), r.get_kind_display(), r.target, r.patient_id or "", r.recipient.username]
        + [local(r.due_at, utc), r.get_state_display(), local(r.sent_at, utc)]
        + [f"{r.lag.total_seconds():.1f}" if r.sent_at and r.lag is not None else "", ", ".join(r.channels)]
        + [r.dispatch_count, r.attempts, f"{r.note} {r.skip_reason} {r.last_error}".strip()]
        for r in reminders
    ]
    return [[csv_cell(cell) for cell in row] for row in [header, *rows]]


def _ledger_download(client, **query) -> list[list[str]]:
    response = client.get(reverse("reminder_ledger"), {**query, "format": "csv"})
    assert response.status_code == 200 and response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_streamed_ledger_csv_holds_what_the_in_memory_one_did(client, admin_user, ledger):
    from coordination.reminders.selectors import ledger_rows

    Reminder.objects.filter(pk=ledger.first().pk).update(state=Reminder.State.FAILED, sent_at=None, last_error="=1+1")
    verified_login(client, admin_user)
    expected = _ledger_csv_as_it_was(ledger_rows(Reminder.objects.all()))
    assert len(expected) > 3
    assert ["'=1+1"] == [row[-1] for row in expected[1:] if row[-1].endswith("1+1")]  # the formula made text

    assert _ledger_download(client) == expected
    escalations = _ledger_csv_as_it_was(ledger_rows(Reminder.objects.filter(kind=Kind.ESCALATION)))
    assert _ledger_download(client, kind="escalation") == escalations and len(escalations) > 1


def test_the_ledger_csv_reads_its_rows_in_chunks_and_stops_at_the_newest_row_when_it_began(
    client, admin_user, event, cast, monkeypatch
):
    """A hospital's ledger holds millions of rows: the download reads them a chunk at a time from
    the last row id (never all at once, never with OFFSET), and its audit row, written before the
    first byte, names the rows and patients that the file holds: a reminder written meanwhile is
    in neither."""
    from accounts import paging

    monkeypatch.setattr(paging, "CHUNK_SIZE", 4)
    _many_reminders(event, cast, 10)
    verified_login(client, admin_user)
    response = client.get(reverse("reminder_ledger"), {"kind": "overdue", "format": "csv"})
    (export,) = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)
    assert export.detail["rows"] == 10 and export.detail["patients"] == [event.patient_id]
    lines = iter(response.streaming_content)
    first = [next(lines) for _ in range(3)]  # the header and two rows: the first chunk is read
    newer = Reminder.objects.filter(kind=Kind.OVERDUE).first()
    newer.pk, newer.due_at = None, newer.due_at + dt.timedelta(days=1)
    newer.save()  # written while the file streams
    with CaptureQueriesContext(connection) as captured:
        rest = list(lines)
    rows = list(csv.reader(io.StringIO(b"".join(first + rest).decode("utf-8-sig"))))
    assert [row[2] for row in rows[1:]] == [f"task:{task(event, 'Pump programmed and locked').pk}"] * 10
    reads = [q["sql"] for q in captured.captured_queries if 'FROM "coordination_reminder"' in q["sql"]]
    assert len(reads) == 2 and all("LIMIT 4" in sql and " OFFSET " not in sql for sql in reads), reads


def test_a_ledger_csv_cut_off_by_a_failed_read_says_so_in_its_last_line(client, admin_user, event, cast, monkeypatch):
    """Found by a review: the file streams after its status and its audit row, a chunk read at a
    time, so a read that fails midway (the database restarted, a timeout) ended a file that looked
    whole, a chunk short, where the list read in memory failed before the first byte. Its last line
    now says that it is incomplete, and the error still ends the response (logged, the download
    marked failed where the connection can say so)."""
    from django.db import OperationalError

    from accounts.csv_export import INCOMPLETE
    from coordination import exports

    def chunks_then_a_failure(rows):
        yield from list(rows.order_by("-pk")[:4])
        raise OperationalError("the server closed the connection unexpectedly")

    monkeypatch.setattr(exports, "keyset_chunks", chunks_then_a_failure)
    _many_reminders(event, cast, 10)
    verified_login(client, admin_user)
    response = client.get(reverse("reminder_ledger"), {"format": "csv"})
    assert response.status_code == 200
    lines = []
    with pytest.raises(OperationalError):
        for line in response.streaming_content:
            lines.append(line)
    rows = list(csv.reader(io.StringIO(b"".join(lines).decode("utf-8-sig"))))
    assert len(rows) == 1 + 4 + 1  # the header, the rows read, the last word
    assert rows[-1] == [INCOMPLETE]


def test_the_ledger_csv_keeps_its_filters_and_is_refused_to_all_but_administrators(client, admin_user, event, cast):
    _many_reminders(event, cast, 6)
    verified_login(client, admin_user)
    to_nurse = _ledger_download(client, recipient=cast["nurse"].username)
    assert len(to_nurse) == 4 and {row[4] for row in to_nurse[1:]} == {cast["nurse"].username}
    assert len(_ledger_download(client, recipient=cast["nurse"].username, state="sent")) == 1  # the header alone
    (one, _) = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).order_by("id")
    assert one.detail["filters"] == {"recipient": cast["nurse"].username} and one.detail["rows"] == 3
    for who in ("nurse", "coord"):
        client.logout()
        verified_login(client, cast[who])
        assert client.get(reverse("reminder_ledger"), {"format": "csv"}).status_code == 403
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 2


def event_text_absent(body: str, cast) -> bool:
    """The ledger names patients by id only (like the audit log)."""
    patient = cast["nurse"].care_teams.first().patient
    return patient.family_name not in body and patient.mrn not in body


@pytest.mark.parametrize("query", ["", "?format=csv"])
def test_the_ledger_takes_as_many_queries_for_50_reminders_as_for_1(
    client, admin_user, event, cast, django_assert_max_num_queries, query
):
    pump = task(event, "Pump programmed and locked")
    verified_login(client, admin_user)

    def make(count):
        Reminder.objects.all().delete()
        Reminder.objects.bulk_create(
            Reminder(
                kind=Kind.OVERDUE,
                target=f"task:{pump.pk}",
                task=pump,
                recipient=cast["nurse"],
                due_at=pump.due_at + dt.timedelta(minutes=n),
                fire_at=pump.due_at,
                dispatch_after=pump.due_at,
                state=Reminder.State.SENT,
                sent_at=pump.due_at + dt.timedelta(seconds=n),
            )
            for n in range(count)
        )

    counted = []
    for count in (1, 50):
        make(count)
        with django_assert_max_num_queries(100) as queries:
            response = client.get(reverse("reminder_ledger") + query)
            assert response.status_code == 200
            if response.streaming:  # the CSV reads its rows as it streams them
                assert len(b"".join(response.streaming_content).splitlines()) == count + 1
        counted.append(len(queries))
    assert counted[0] == counted[1]


def _many_reminders(event, cast, count: int) -> list[int]:
    """`count` reminders about one task, half of them to the nurse: their ids, newest first."""
    pump = task(event, "Pump programmed and locked")
    made = Reminder.objects.bulk_create(
        Reminder(
            kind=Kind.OVERDUE,
            target=f"task:{pump.pk}",
            task=pump,
            recipient=cast["nurse"] if n % 2 else cast["nurse2"],
            due_at=pump.due_at + dt.timedelta(minutes=n),
            fire_at=pump.due_at,
            dispatch_after=pump.due_at,
        )
        for n in range(count)
    )
    return sorted((reminder.pk for reminder in made), reverse=True)


def _link(page, name: str) -> str:
    return re.search(rf'href="\?([^"]*)">{name}<', page.text)[1].replace("&amp;", "&")


def test_no_page_of_the_ledger_counts_the_reminders_or_skips_rows_with_offset(client, admin_user, event, cast):
    """A hospital writes millions of reminders: COUNT(*) and a deep OFFSET cost seconds a page.
    Every page is read from a row id, PAGE_SIZE + 1 rows by the primary key."""
    from coordination.reminders.views.pages import PAGE_SIZE

    _many_reminders(event, cast, PAGE_SIZE * 2 + 1)
    verified_login(client, admin_user)
    url = reverse("reminder_ledger") + "?kind=overdue"
    client.get(url)
    statements = []
    for _ in range(2):  # the newest page, then the next older one
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url)
        statements += [query["sql"] for query in captured.captured_queries]
        url = reverse("reminder_ledger") + "?" + _link(page, "Older")
    reads = [sql for sql in statements if sql.startswith("SELECT") and 'FROM "coordination_reminder"' in sql]
    assert reads and not [sql for sql in reads if "COUNT(" in sql.upper() or " OFFSET " in sql.upper()]
    assert all(f"LIMIT {PAGE_SIZE + 1}" in sql for sql in reads), reads


def test_the_ledger_pages_older_and_newer_keeping_its_filters(client, admin_user, event, cast):
    from coordination.reminders.views.pages import PAGE_SIZE

    ids = _many_reminders(event, cast, PAGE_SIZE * 4 + 10)
    to_nurse = set(Reminder.objects.filter(recipient=cast["nurse"]).values_list("pk", flat=True))
    verified_login(client, admin_user)
    url = reverse("reminder_ledger")
    first = client.get(url, {"recipient": cast["nurse"].username})
    assert "Newer<" not in first.text and "on this page; older reminders below it" in first.text
    second = client.get(f"{url}?{_link(first, 'Older')}")
    third = client.get(f"{url}?{_link(second, 'Older')}")
    assert f"recipient={cast['nurse'].username}" in _link(third, "Newer")
    pages = [[r.pk for r in page.context["page"]] for page in (first, second, third)]
    assert sum(pages, []) == [pk for pk in ids if pk in to_nurse]
    assert [len(rows) for rows in pages] == [PAGE_SIZE, PAGE_SIZE, 5] and "Older<" not in third.text
    back = client.get(f"{url}?{_link(third, 'Newer')}")
    assert [r.pk for r in back.context["page"]] == pages[1]
    # A short ledger is counted: it fits on one page.
    few = client.get(url, {"recipient": "nobody-such"})
    assert "0 reminders." in few.text and "No reminders match these filters." in few.text


def test_a_person_chooses_email_and_a_digest_hour(client, cast):
    nurse = cast["nurse"]
    client.force_login(nurse)
    assert client.get(reverse("reminder_settings")).status_code == 200
    response = client.post(reverse("reminder_settings"), {"digest_hour": "6"})
    assert response.status_code == 302
    preference = ReminderPreference.objects.get(user=nurse)
    assert preference.email is False and preference.digest_hour == 6
    client.post(reverse("reminder_settings"), {"email": "on", "digest_hour": ""})
    preference.refresh_from_db()
    assert preference.email is True and preference.digest_hour is None


def test_the_admin_shows_reminder_settings_and_changes_none(client, admin_user, cast):
    """Found by a review: Admin -> Reminder preferences added, changed and deleted anyone's
    settings, unlogged, which the service refuses: people choose how they hear of their own work."""
    nurse = cast["nurse"]
    preference = ReminderPreference.objects.create(user=nurse, email=True, digest_hour=6)
    verified_login(client, admin_user)
    assert client.get(reverse("admin:coordination_reminderpreference_changelist")).status_code == 200
    change = reverse("admin:coordination_reminderpreference_change", args=[preference.pk])
    assert client.get(change).status_code == 200  # shown
    assert client.post(change, {"user": nurse.pk, "digest_hour": ""}).status_code == 403
    add = reverse("admin:coordination_reminderpreference_add")
    assert client.post(add, {"user": cast["nurse2"].pk, "digest_hour": ""}).status_code == 403
    delete = reverse("admin:coordination_reminderpreference_delete", args=[preference.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    preference.refresh_from_db()
    assert preference.email is True and preference.digest_hour == 6
    assert list(ReminderPreference.objects.values_list("user", flat=True)) == [nurse.pk]
