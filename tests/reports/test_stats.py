"""Medians and 90th percentiles: PostgreSQL's percentile_cont, and on SQLite (`make run`) the same
interpolation in Python over one more query. The Python path is run here on PostgreSQL's data (stats'
vendor check patched) and must give every number that percentile_cont gives."""

import datetime as dt
from types import SimpleNamespace

import pytest

from coordination.reports import stats
from coordination.reports.period import Period
from coordination.reports.selectors import handoffs, interruptions_and_toxicity, on_time, reminders

from .world import NEW_YORK, NOW, build_world

M = dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([7], 0.9, 7),
        ([60, 180], 0.5, 120),
        ([60, 180], 0.9, 168),
        ([1, 2, 3, 4, 10], 0.5, 3),
        ([1, 2, 3, 4, 10], 0.9, 7.6),
    ],
)
def test_a_percentile_is_interpolated_between_the_two_nearest_values(values, fraction, expected):
    result = stats.percentile([v * M for v in values], fraction)
    assert result == (None if expected is None else expected * M)


def test_the_python_path_gives_the_numbers_of_percentile_cont(ward, coordinator, time_machine, monkeypatch):
    time_machine.move_to(NOW, tick=False)
    build_world(ward, coordinator)
    period = Period.last_days(30, zone=NEW_YORK, now=NOW)
    sections = (on_time, handoffs, reminders, interruptions_and_toxicity)
    in_the_database = [[table.rows for table in section(ward, period).tables] for section in sections]
    monkeypatch.setattr(stats, "connection", SimpleNamespace(vendor="sqlite"))  # only stats is told
    in_python = [[table.rows for table in section(ward, period).tables] for section in sections]
    assert in_python == in_the_database
