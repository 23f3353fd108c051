"""Known history gives known numbers: every cell of every table of the report, worked out by hand
(tests/reports/world.py builds the history; its comments say why each number is what it is)."""

import datetime as dt

import pytest

from accounts.models import User
from coordination.reports.period import Period
from coordination.reports.selectors import (
    SECTIONS,
    handoffs,
    interruptions_and_toxicity,
    on_time,
    overdue_trend,
    readiness,
    reminders,
)
from coordination.reports.summary import headlines
from coordination.reports.tables import Share

from .world import NEW_YORK, NOW, at, build_world

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


@pytest.fixture
def period(ward, coordinator, time_machine):
    time_machine.move_to(NOW, tick=False)
    build_world(ward, coordinator)
    return Period.last_days(30, zone=NEW_YORK, now=NOW)


def test_the_period_is_the_last_30_days_on_the_units_clock(period):
    assert (period.first, period.last, period.days) == (dt.date(2026, 2, 19), dt.date(2026, 3, 20), 30)
    assert period.start == dt.datetime(2026, 2, 19, 5, 0, tzinfo=dt.UTC) and period.end == NOW


def test_readiness_counts_events_ready_at_their_time_by_kind(ward, period):
    section = readiness(ward, period)
    # E1 ready; E2's weight done an hour after the start (Jones' override came later still); E3's
    # order open, overridden by Smith an hour before; E4 (bag change) ready. E5 is to come, E6 before.
    assert section.table("by_kind").rows == [
        ["Cycle start", 3, 1, 1, 1, Share(1, 3)],
        ["Bag change", 1, 1, 0, 0, Share(1, 1)],
        ["All events", 4, 2, 1, 1, Share(2, 4)],
    ]
    # Week by week (from Monday): E1 and E2 in the week of 2 March, E3 (Sunday 15) in that of 9 March.
    assert section.table("by_week").rows == [
        ["2026-03-02", 2, 1, 0, 1, Share(1, 2)],
        ["2026-03-09", 1, 0, 1, 0, Share(0, 1)],
        ["2026-03-16", 1, 1, 0, 0, Share(1, 1)],
    ]
    assert section.table("by_oncologist").rows == [["Bob Jones", 1], ["Ann Smith", 1]]
    assert section.table("by_justification").rows == [
        ["Clinical urgency: delaying the start is the greater risk", 1],
        ["Done and documented outside the tracker (paper, another system)", 1],
    ]
    listed = section.table("overrides").rows
    assert [row[0] for row in listed] == [at(3, 15, 21), at(3, 8, 1, 30)]  # times on the ward's clock
    assert [(row[1], row[4][:8], row[5]) for row in listed] == [
        ("Ann Smith", "Clinical", "Patient deteriorating, start now"),
        ("Bob Jones", "Done and", "Weighed on paper"),
    ]


def test_on_time_counts_tasks_by_role_and_how_late_the_late_ones_were(ward, period):
    section = on_time(ward, period)
    # Nurse: weights of E1 (on time), E2 (60 min late), E3 (180 min late), E4's bag label (on time):
    # median of 60 and 180 is 120 min, the 90th percentile 60 + 0.9 × 120 = 168 min.
    # Pharmacist: orders of E1, E2 on time, E3's open. E6's are due before the period.
    # Due, on time, late, not done, left open at its event, still open (none of E1-E4 is done).
    assert section.table("by_role").rows == [
        ["Pharmacist", 3, 2, 0, 0, 0, 1, Share(2, 3), None, None],
        ["Nurse", 4, 2, 2, 0, 0, 0, Share(2, 4), 120 * M, 168 * M],
        ["All roles", 7, 4, 2, 0, 0, 1, Share(4, 7), 120 * M, 168 * M],
    ]
    assert section.table("by_week").rows == [
        ["2026-03-02", 4, 3, 1, 0, 0, 0, Share(3, 4)],
        ["2026-03-09", 2, 0, 1, 0, 0, 1, Share(0, 2)],
        ["2026-03-16", 1, 1, 0, 0, 0, 0, Share(1, 1)],
    ]
    assert section.table("late_items").rows == [
        ["Weight", "Cycle start", "Nurse", 3, 2, 0, 0, 0, Share(2, 3)],
        ["Order verified", "Cycle start", "Pharmacist", 3, 0, 0, 0, 1, Share(1, 3)],
    ]


def test_handoffs_turnaround_returns_and_late_acknowledgements(ward, period):
    section = handoffs(ward, period)
    # Sent: acknowledged after 2 h and 6 h (median 4 h, p90 2 + 0.9 × 4 = 5.6 h), accepted after 5 h
    # and 10 h (median 7.5 h, p90 9.5 h); late: the 6-hour one and the one still waiting.
    assert section.table("turnaround").rows == [
        ["Sent by this unit", 3, 2, 4 * H, 336 * M, 6 * H, 2, 450 * M, 570 * M, 10 * H, 2],
        ["Received by this unit", 1, 1, H, H, H, 0, None, None, None, 0],
    ]
    slowest = section.table("slowest").rows
    assert [row[2] for row in slowest] == [
        "Haematology Ward → HomeCare Infusion",
        "Haematology Ward → HomeCare Infusion",
        "HomeCare Infusion → Haematology Ward",
    ]
    assert [row[4] for row in section.table("slowest").rows] == [6 * H, 2 * H, H]
    assert section.table("returns_count").rows == [["Returned to the sender", 1]]
    (returned,) = section.table("returns").rows
    home_nurse = User.objects.get(username="homenurse")
    assert returned[0] == at(3, 9, 15) and returned[4] == "Dose missing"
    assert returned[3] == f"{home_nurse.first_name} {home_nurse.last_name}"


def test_reminders_by_kind_with_their_lag_escalations_and_snoozes(ward, period):
    section = reminders(ward, period)
    # Overdue: sent after 2 and 10 min (median 6, p90 2 + 0.9 × 8 = 9.2 min), one failed.
    assert section.table("by_kind").rows == [
        ["Overdue", 3, 2, 1, 0, 0, 6 * M, dt.timedelta(minutes=9.2), 10 * M],
        ["Overdue, escalated", 1, 1, 0, 0, 0, M, M, M],
    ]
    assert section.table("summary").rows == [
        ["Escalations sent (tasks, handoffs, toxicity alerts)", 1],
        ["Snoozes made", 2],
        ["Tasks snoozed", 1],
        ["Snoozes ended early by hand", 1],
    ]


def test_the_overdue_trend_counts_at_midnight_on_the_units_clock(ward, period):
    rows = overdue_trend(ward, period).table("by_day").rows
    assert len(rows) == 30 and rows[0][0] == "2026-02-19" and rows[-1][0] == "2026-03-20"
    counts = {day: count for day, count in rows if count}
    # 19 Feb: E6's order (done the next day). 7 Mar: E2's weight, due 23:30, done at 00:30 EST: at a
    # UTC midnight it would not have been due yet. 15 Mar: E3's weight (done 01:00) and order; the
    # order stays open to today.
    assert counts == {
        "2026-02-19": 1,
        "2026-03-07": 1,
        "2026-03-15": 2,
        "2026-03-16": 1,
        "2026-03-17": 1,
        "2026-03-18": 1,
        "2026-03-19": 1,
        "2026-03-20": 1,
    }


def test_interruptions_grades_by_cycle_and_pump_events_by_hour(ward, period):
    section = interruptions_and_toxicity(ward, period)
    # Adverse reactions: 2 h and 30 h (median 16 h, p90 2 + 0.9 × 28 = 27.2 h); the pump stop is open.
    assert section.table("interruptions").rows == [
        ["Adverse reaction", 2, 1, 1, 0, 0, 0, 16 * H, dt.timedelta(hours=27.2)],
        ["Pump or line problem", 1, 0, 0, 0, 0, 1, None, None],
    ]
    # Cycle 1: p1's worst CRS is the confirmed 3 (computed 2), ICANS 1; p2 none. Cycle 2: p1 none.
    assert section.table("grades").rows == [
        ["Cycle 1", 2, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0],
        ["Cycle 2", 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    ]
    pump = section.table("pump_by_hour").rows
    assert len(pump) == 24
    assert {row[0]: row[1:] for row in pump if row[1]} == {"03:00–03:59": [2, 2], "14:00–14:59": [1, 0]}


def test_the_period_at_a_glance_takes_its_numbers_from_the_sections_tables(ward, period):
    sections = {key: build(ward, period) for key, build in SECTIONS.items()}
    assert [(line.label, line.value, line.detail, line.section) for line in headlines(sections)] == [
        ("Events ready at their time", "50 %", "2 of 4 events; 1 started on an override", "readiness"),
        ("Tasks done by their due time", "57 %", "4 of 7 tasks; 1 still open", "on_time"),
        (
            "Handoffs sent: median time to acknowledgement",
            "4 h 00 min",
            "2 of 3 acknowledged; 2 past the deadline",
            "handoffs",
        ),
        ("Open overdue tasks at the period's end", "1", "1 at the end of its first day", "overdue"),
        ("Escalations sent", "1", "for tasks, handoffs and toxicity alerts", "reminders"),
        ("Infusion interruptions", "3", "begun in the period", "interruptions"),
    ]


def test_the_period_at_a_glance_of_a_unit_with_nothing_says_so(other_ward, time_machine):
    time_machine.move_to(NOW, tick=False)
    quiet = Period.last_days(7, zone=NEW_YORK, now=NOW)
    sections = {key: build(other_ward, quiet) for key, build in SECTIONS.items()}
    assert [(line.value, line.detail) for line in headlines(sections)] == [
        ("–", "No events"),
        ("–", "No tasks due"),
        ("–", "No handoffs sent"),
        ("0", "0 at the end of its first day"),
        ("0", "for tasks, handoffs and toxicity alerts"),
        ("0", "begun in the period"),
    ]
