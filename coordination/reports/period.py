"""The period a report covers: whole days on the unit's clock, up to now."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone

from accounts import moments

MAX_DAYS = 366  # a from–to period is at most a year (the overdue trend counts each day)


def local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The moment `day` begins on the unit's clock (a day of 23 or 25 hours around a change of
    daylight saving time ends at the next midnight all the same)."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)


@dataclass(frozen=True)
class Period:
    first: dt.date  # the first and last days, on the unit's clock, both included
    last: dt.date
    zone: zoneinfo.ZoneInfo
    now: dt.datetime

    @classmethod
    def last_days(cls, days: int, *, zone, now: dt.datetime) -> "Period":
        """The last `days` days, today included."""
        today = timezone.localtime(now, zone).date()
        return cls(today - dt.timedelta(days=days - 1), today, zone, now)

    @property
    def start(self) -> dt.datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> dt.datetime:
        """The end of the last day, or now while that day lasts."""
        return min(local_midnight(self.last + dt.timedelta(days=1), self.zone), self.now)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def day_ends(self) -> list[tuple[dt.date, dt.datetime]]:
        """Each day of the period with the moment it ends (now for today); none after now."""
        ends = []
        for offset in range(self.days):
            day = self.first + dt.timedelta(days=offset)
            ends.append((day, min(local_midnight(day + dt.timedelta(days=1), self.zone), self.now)))
            if ends[-1][1] == self.now:
                break
        return ends

    def __str__(self) -> str:
        return f"{moments.day(self.first)} to {moments.day(self.last)}"
