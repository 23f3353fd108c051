"""The report's days are days on the unit's clock: a day of 23 or 25 hours around a change of
daylight saving time ends at its own midnight, and the last day ends now."""

import datetime as dt
import zoneinfo

from coordination.reports.period import Period

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = dt.UTC


def test_the_days_around_the_changes_of_daylight_saving_time_end_at_local_midnight():
    now = dt.datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
    period = Period(dt.date(2026, 3, 7), dt.date(2026, 3, 8), NEW_YORK, now)
    assert [end for _, end in period.day_ends()] == [
        dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC),  # midnight EST
        dt.datetime(2026, 3, 9, 4, 0, tzinfo=UTC),  # midnight EDT: a day of 23 hours
    ]
    autumn = Period(dt.date(2026, 10, 31), dt.date(2026, 11, 3), NEW_YORK, now)
    ends = [end.astimezone(UTC) for _, end in autumn.day_ends()]  # aware arithmetic in one zone is wall time
    assert ends[1] - ends[0] == dt.timedelta(hours=25)  # 1 November, back to EST
    assert ends[-1] == now and autumn.end == now  # today ends now
    assert autumn.start == dt.datetime(2026, 10, 31, 4, 0, tzinfo=UTC)


def test_the_last_days_count_today():
    now = dt.datetime(2026, 3, 20, 3, 0, tzinfo=UTC)  # still 19 March in New York
    period = Period.last_days(7, zone=NEW_YORK, now=now)
    assert (period.first, period.last, period.days) == (dt.date(2026, 3, 13), dt.date(2026, 3, 19), 7)
    assert len(period.day_ends()) == 7
