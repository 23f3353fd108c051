"""The report page and its CSVs: who may read which unit, what the page and the files hold, and
what the audit log keeps of them."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from coordination.reports.period import Period
from coordination.reports.selectors import SECTIONS
from coordination.reports.tables import CSV_HEADER, Table, cell_csv, cell_text, label_csv

from ..accounts.helpers import verified_login
from ..factories import UnitFactory, UserFactory
from .world import NEW_YORK, NOW, build_world

PAGE, CSV = reverse("reports:unit"), reverse("reports:csv")


@pytest.fixture
def world(ward, coordinator, time_machine):
    time_machine.move_to(NOW, tick=False)
    return build_world(ward, coordinator)


def signed_in(client, user):
    if user.is_staff or user.role == "coordinator":
        verified_login(client, user)
    else:
        client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["anonymous", "nurse", "pharmacist", "oncologist", "case_manager"])
def test_only_coordinators_and_administrators_open_reports(client, who, request, ward):
    if who == "anonymous":
        response = client.get(PAGE)
        assert response.status_code == 302 and "login" in response["Location"]
        return
    user = request.getfixturevalue(who)
    assert signed_in(client, user).get(PAGE).status_code == 403
    assert client.get(CSV, {"section": "readiness"}).status_code == 403


def test_a_coordinator_reads_their_unit_and_is_refused_another(client, coordinator, other_ward):
    signed_in(client, coordinator)
    response = client.get(PAGE)
    assert response.status_code == 200 and response.context["unit"] == coordinator.unit
    refused = client.get(PAGE, {"unit": other_ward.pk})
    assert refused.status_code == 403
    assert "their own unit" in refused.content.decode()
    assert client.get(CSV, {"section": "on_time", "unit": other_ward.pk}).status_code == 403


def test_an_administrator_reads_every_unit_and_a_unit_that_does_not_exist_is_not_found(
    client, admin_user, ward, other_ward
):
    signed_in(client, admin_user)
    for unit in (ward, other_ward):
        response = client.get(PAGE, {"unit": unit.pk, "period": "90"})
        assert response.status_code == 200 and response.context["unit"] == unit
    assert client.get(PAGE, {"unit": 999_999}).status_code == 404


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"period": "custom", "start": "2026-03-10"}, "end", "Give the last day of the period."),
        (
            {"period": "custom", "start": "2026-03-10", "end": "2026-03-01"},
            "end",
            "The last day comes before the first.",
        ),
        ({"period": "custom", "start": "2024-01-01", "end": "2026-03-01"}, "end", "A period is at most 366 days."),
        ({"period": "custom", "start": "2026-04-01", "end": "2026-04-02"}, "start", "The period has not begun yet"),
        ({"period": "12"}, "period", "Select a valid choice."),
        ({"unit": "x"}, "unit", "Enter a whole number."),
    ],
)
def test_a_bad_period_is_told_at_its_field_and_no_report_is_drawn(client, coordinator, world, query, field, message):
    response = signed_in(client, coordinator).get(PAGE, query)
    assert response.status_code == 200
    assert message in response.context["form"].errors[field][0]
    assert "sections" not in response.context
    assert "Correct the period above" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"period": "custom", "start": "2026-03-10"}, "Give the last day of the period."),
        ({"period": "custom", "start": "2026-04-01", "end": "2026-04-02"}, "The period has not begun yet"),
        ({"period": "12"}, "Select a valid choice."),
        ({"unit": "x"}, "Enter a whole number."),
    ],
)
def test_a_csv_asked_for_a_bad_period_is_a_bad_request_that_says_what_to_correct(
    client, coordinator, world, query, message
):
    """A CSV link with a period that does not hold (typed by hand, or kept until "today" moved on)
    answered 404 "No such period": as if the report were gone, with nothing said of what to fix."""
    response = signed_in(client, coordinator).get(CSV, {"section": "readiness", **query})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and "Correct the period above" in html
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_a_period_from_to_reports_those_days(client, coordinator, world):
    response = signed_in(client, coordinator).get(
        PAGE, {"period": "custom", "start": "2026-03-01", "end": "2026-03-07"}
    )
    period = response.context["period"]
    assert (str(period.first), str(period.last)) == ("2026-03-01", "2026-03-07")
    readiness = response.context["sections"]["readiness"].table("by_kind").rows
    assert readiness[-1][:5] == ["All events", 2, 1, 0, 1]  # E1 ready, E2 not


def test_the_page_shows_each_sections_numbers_charts_and_csv_links(client, coordinator, world):
    response = signed_in(client, coordinator).get(PAGE)
    html = response.content.decode()
    for key, section in response.context["sections"].items():
        assert f'id="section-{key}"' in html and section.csv_url in html.replace("&amp;", "&")
        for table in section.tables:
            for row in table.rows:
                for value in row:
                    assert cell_text(value).replace("&", "&amp;") in html or "'" in str(value)
    assert html.count('role="img"') == 10 and html.count("<desc id=") == 10
    assert "Cycle start: Ready 1, Started on an override 1, Not ready 1" in html
    assert "03-02: 50 %, 03-09: 0 %, 03-16: 100 %" in html  # the weekly share, in its description


def test_a_shortened_header_keeps_its_full_name_for_screen_readers_and_on_hover(client, coordinator, world):
    """The wide tables' short headers (so that they fit 1024 px: tests/e2e/test_reports.py) stay
    column headers, with the full name read aloud and shown on hover (the CSV names the column by
    Table.columns, the full names: test_each_csv_holds_every_cell_of_its_tables…)."""
    html = signed_in(client, coordinator).get(PAGE).content.decode()
    full = "Acknowledged: 90th percentile"
    assert (
        f'<th scope="col" class="text-end"><abbr title="{full}" aria-hidden="true">Ack. 90th pct.</abbr>'
        f'<span class="visually-hidden">{full}</span></th>'
    ) in html
    assert html.count("report-table-wide") == 6  # the tables of nine columns or more


def test_a_short_header_for_no_column_is_refused():
    with pytest.raises(ValueError, match="Short headers for no column: Lag"):
        Table("t", "A table", ["Kind", "Lag: median"], short={"Lag": "Lag"})


def test_opening_the_page_is_logged_as_a_read_of_the_units_data(client, coordinator, world, ward):
    signed_in(client, coordinator).get(PAGE)
    (row,) = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, object_type="coordination.unit_report")
    assert row.actor_id == coordinator.pk and row.patient_id is None
    assert row.detail == {"unit": ward.pk, "first": "2026-02-19", "last": "2026-03-20"}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_each_csv_holds_every_cell_of_its_tables_and_is_logged_as_an_export(client, coordinator, world, ward, section):
    response = signed_in(client, coordinator).get(CSV, {"section": section})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert tuple(lines[0]) == CSV_HEADER
    expected = [
        [table.title, label_csv(row[0]), column, *cell_csv(value)]
        for table in SECTIONS[section](ward, Period.last_days(30, zone=NEW_YORK, now=NOW)).tables
        for row in table.rows
        for column, value in zip(table.columns[1:], row[1:], strict=True)
    ]
    assert lines[1:] == expected and len(expected) > 0
    (export,) = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT)
    assert (export.actor_id, export.object_type, export.object_id) == (
        coordinator.pk,
        "coordination.unit_report",
        str(ward.pk),
    )
    assert export.detail == {"section": section, "first": "2026-02-19", "last": "2026-03-20"}


def test_the_csv_numbers_are_the_raw_values_with_their_unit(client, coordinator, world):
    response = signed_in(client, coordinator).get(CSV, {"section": "on_time"})
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    nurse = {line[2]: line[3:] for line in lines if line[1] == "Nurse"}
    assert nurse["Due"] == ["4", "count"]
    assert nurse["Share on time"] == ["50.0", "percent (2 of 4)"]
    assert nurse["Late by: 90th percentile"] == ["168.0", "minutes"]


def test_an_unknown_section_is_not_found(client, coordinator):
    assert signed_in(client, coordinator).get(CSV, {"section": "salaries"}).status_code == 404


def test_a_coordinator_without_a_unit_is_told_so(client, db):
    user = UserFactory(role="coordinator", unit=None)
    UnitFactory()
    response = signed_in(client, user).get(PAGE)
    assert response.status_code == 403 and "ask an administrator to set yours" in response.content.decode()


def test_the_unit_chosen_stays_chosen_while_the_period_is_corrected(client, admin_user, ward, other_ward):
    query = {"unit": other_ward.pk, "period": "custom", "start": "2026-03-10"}
    response = signed_in(client, admin_user).get(PAGE, query)
    assert response.context["unit"] == other_ward and response.context["form"].errors["end"]
