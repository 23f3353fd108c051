"""CSV downloads of the coordinators' lists (coordination.exports): the list's own URL with
?format=csv, under the page's filters and access rules; one EXPORT row naming the list, its filters
and patients, and no read row; a Download CSV link on each page. Walked on the authorization
matrix's world (our patient with a checklist, an alert; handoffs in each status). The reminder
ledger's download is tested beside the ledger (reminders/test_ledger_and_settings.py)."""

import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from checklists.models import Task
from coordination.exports import local

from ..test_authorization_matrix import matrix_world, sign_in

# name: (the role whose list it is, query, the first column's title, a role refused)
LISTS = {
    "board_not_ready": ("coordinator", "?window=", "When", "nurse"),
    "board_overdue": ("coordinator", "?role=nurse", "Due", "nurse"),
    "handoff_review": ("coordinator", "?status=", "Direction", "case_manager"),
    "handoff_list": ("case_manager", "", "Direction", None),
    "alert_list": ("nurse", "", "Raised", None),
}


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    with matrix_world(django_db_blocker) as (users, targets, _foreign):
        yield users, targets


@pytest.fixture
def world(_module_world, db):
    users, targets = _module_world
    # Something on every list: our nurse's weighing overdue, the event not ready within the board's hours.
    Task.objects.filter(pk=targets["weight"].pk).update(due_at=timezone.now() - dt.timedelta(hours=2))
    return users, targets


def download(client, name, query):
    response = client.get(reverse(name) + query + ("&" if "?" in query else "?") + "format=csv")
    assert response.status_code == 200, (name, response.status_code)
    assert response["Content-Type"] == "text/csv; charset=utf-8" and "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.parametrize("name", LISTS)
def test_a_list_downloads_as_csv_and_logs_one_export_naming_its_patients(client, world, name):
    users, targets = world
    role, query, first_column, _ = LISTS[name]
    sign_in(client, users[role])
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    rows = download(client, name, query)

    assert rows[0][0].startswith(first_column) and len(rows) > 1, rows
    patient = targets["patient"]
    assert any(patient.mrn in row for row in rows[1:]), rows
    logged = AuditEvent.objects.filter(id__gt=before)
    (export,) = logged.filter(action=AuditEvent.Action.EXPORT)
    assert (export.actor_id, export.object_type) == (users[role].pk, f"coordination.{name}")
    assert export.detail["patients"] == [patient.pk] and export.detail["rows"] == len(rows) - 1
    assert not logged.filter(action=AuditEvent.Action.VIEW).exists()


@pytest.mark.parametrize("name", [name for name, spec in LISTS.items() if spec[3]])
def test_a_role_refused_the_list_is_refused_its_csv_and_nothing_is_exported(client, world, name):
    users, _ = world
    _, query, _, refused = LISTS[name]
    sign_in(client, users[refused])
    response = client.get(reverse(name) + query + "&format=csv")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


@pytest.mark.parametrize("name", LISTS)
def test_an_anonymous_visitor_is_sent_to_sign_in(client, world, name):
    response = client.get(reverse(name) + "?format=csv")
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_csv_keeps_the_pages_filters(client, world):
    users, _ = world
    sign_in(client, users["coordinator"])
    assert len(download(client, "board_overdue", "?role=pharmacist")) == 1  # the header alone
    assert len(download(client, "board_overdue", "?role=nurse")) == 2


def test_the_export_logs_only_the_lists_own_filters_and_a_nul_elsewhere_is_no_server_error(client, world):
    # A NUL (which PostgreSQL's jsonb cannot hold) in a parameter the list does not know made
    # every download a 500, at its audit row.
    users, _ = world
    sign_in(client, users["coordinator"])
    rows = download(client, "board_overdue", "?role=nurse&x=%00&utm=1")
    assert len(rows) == 2
    export = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert export.detail["filters"] == {"role": "nurse"}


def test_a_cell_that_a_spreadsheet_would_run_is_written_as_text(client, world):
    users, targets = world
    Task.objects.filter(pk=targets["weight"].pk).update(text='=HYPERLINK("http://x")')
    sign_in(client, users["coordinator"])
    rows = download(client, "board_overdue", "?role=nurse")
    assert rows[1][1] == '\'=HYPERLINK("http://x")'


def test_a_value_with_another_locales_separator_stays_in_one_quoted_cell(client, world):
    # Where ";" separates cells, `Doe;=cmd|…` unquoted would give a second cell starting with "=".
    users, targets = world
    Task.objects.filter(pk=targets["weight"].pk).update(text="Doe;=cmd|' /C calc'!A0")
    sign_in(client, users["coordinator"])
    response = client.get(reverse("board_overdue") + "?role=nurse&format=csv")
    header, row = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert ",\"Doe;=cmd|' /C calc'!A0\"," in row
    assert all(cell.startswith('"') and cell.endswith('"') for cell in header.split(","))  # every cell quoted
    assert next(csv.reader([row]))[1] == "Doe;=cmd|' /C calc'!A0"


@pytest.mark.parametrize("name", LISTS)
def test_the_page_offers_the_download_with_its_filters(client, world, name):
    users, _ = world
    role, query, _, _ = LISTS[name]
    sign_in(client, users[role])
    page = client.get(reverse(name) + query).content.decode()
    assert "Download CSV" in page and "format=csv" in page


def test_a_time_carries_its_offset_so_the_hour_repeated_when_summer_time_ends_is_told_apart():
    """01:30 on 1 November 2026 happens twice in New York (summer time, then an hour later winter
    time): both were written "2026-11-01 01:30", and an alert's or a handoff's order was lost."""
    new_york = zoneinfo.ZoneInfo("America/New_York")
    first, second = (dt.datetime(2026, 11, 1, hour, 30, tzinfo=dt.UTC) for hour in (5, 6))
    assert (local(first, new_york), local(second, new_york)) == ("2026-11-01T01:30-04:00", "2026-11-01T01:30-05:00")
    assert local(None, new_york) == ""
