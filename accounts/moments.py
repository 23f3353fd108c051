"""How the app writes a day, and a moment on a unit's clock, for people to read.

Messages, flash messages, validation errors, page titles and reminders are written here, with
the `date` filter's own format strings, so that Python says "Mon 4 Dec 2026, 09:19" exactly as
the templates do: no leading zero on the day (a nurse reads "04" as a slip), a 24-hour clock.
Machine formats (ISO, CSV and file-name stamps, FHIR, audit columns) are not written here.

A moment is always written with its weekday ("Mon"): a nurse plans by the day of the week, and
a time read a day later is misread without it. The short forms leave out the year where the
context is the next days or weeks (a restart, a shift, a snooze).
"""

import datetime as dt

from django.utils import dateformat, timezone

DAY = "j M Y"  # 4 Dec 2026
DAY_SHORT = "j M"  # 4 Dec
MOMENT = "D j M Y, H:i"  # Mon 4 Dec 2026, 09:19
MOMENT_SHORT = "D j M, H:i"  # Mon 4 Dec, 09:19
MOMENT_ZONED = "D j M, H:i T"  # Mon 4 Dec, 09:19 CET


def day(value: dt.date | dt.datetime, zone: dt.tzinfo | None = None) -> str:
    """4 Dec 2026. A datetime is the day it is on `zone`'s clock (required for one: near midnight
    the UTC day is another)."""
    return dateformat.format(_on_clock(value, zone), DAY)


def day_short(value: dt.date | dt.datetime, zone: dt.tzinfo | None = None) -> str:
    """4 Dec: a day in this season's plan (a cycle's start, an earlier episode)."""
    return dateformat.format(_on_clock(value, zone), DAY_SHORT)


def moment(at: dt.datetime, zone: dt.tzinfo) -> str:
    """Mon 4 Dec 2026, 09:19 on `zone`'s clock: a moment whose year matters (an expiry, an event
    offered in a list, a time entered after the fact)."""
    return dateformat.format(timezone.localtime(at, zone), MOMENT)


def moment_short(at: dt.datetime, zone: dt.tzinfo) -> str:
    """Mon 4 Dec, 09:19 on `zone`'s clock: a moment of the days around now (a restart, a shift,
    a snooze), where the year goes without saying."""
    return dateformat.format(timezone.localtime(at, zone), MOMENT_SHORT)


def moment_zoned(at: dt.datetime, zone: dt.tzinfo) -> str:
    """Mon 4 Dec, 09:19 CET: a moment in a message that leaves the unit (an email, a reminder, a
    handoff to another unit), read later and maybe on another clock, so it names its zone
    (CET or CEST, as the clock was at that moment)."""
    return dateformat.format(timezone.localtime(at, zone), MOMENT_ZONED)


def _on_clock(value: dt.date | dt.datetime, zone: dt.tzinfo | None) -> dt.date:
    if not isinstance(value, dt.datetime):
        return value
    if zone is None:
        raise ValueError("A moment's day depends on the clock: give the unit's zone.")
    return timezone.localtime(value, zone).date()
