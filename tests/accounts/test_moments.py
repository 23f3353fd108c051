"""accounts.moments: how a day and a moment on a unit's clock are written for people, as the
templates' `date` filter writes them ("4 Dec 2026", "Fri 4 Dec 2026, 09:19"), never "04 Dec"."""

import datetime as dt
import pathlib
import re
import zoneinfo

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import timezone

from accounts import moments

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
# 08:19 UTC on Friday 4 December 2026: 09:19 in Berlin (CET), 03:19 in New York (EST).
AT = dt.datetime(2026, 12, 4, 8, 19, tzinfo=dt.UTC)


def test_a_day_has_no_leading_zero():
    assert moments.day(dt.date(2026, 12, 4)) == "4 Dec 2026"
    assert moments.day_short(dt.date(2026, 12, 4)) == "4 Dec"
    assert moments.day(dt.date(2026, 12, 14)) == "14 Dec 2026"


@pytest.mark.parametrize(
    ("write", "written"),
    [
        (moments.moment, "Fri 4 Dec 2026, 09:19"),
        (moments.moment_short, "Fri 4 Dec, 09:19"),
        (moments.moment_zoned, "Fri 4 Dec, 09:19 CET"),
    ],
)
def test_a_moment_is_written_on_the_zones_clock_with_its_weekday_and_no_leading_zero(write, written):
    assert write(AT, BERLIN) == written


def test_the_same_moment_reads_on_each_units_own_clock():
    assert moments.moment_zoned(AT, NEW_YORK) == "Fri 4 Dec, 03:19 EST"
    assert moments.moment_zoned(AT.astimezone(NEW_YORK), BERLIN) == "Fri 4 Dec, 09:19 CET"


def test_across_a_daylight_saving_change_the_clock_and_the_zone_name_follow_the_moment():
    """Berlin's clocks go from 02:00 CET to 03:00 CEST on Sunday 29 March 2026: an hour of real
    time apart, the two moments read 01:30 and 03:30."""
    before = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)
    after = before + dt.timedelta(hours=1)
    assert moments.moment_zoned(before, BERLIN) == "Sun 29 Mar, 01:30 CET"
    assert moments.moment_zoned(after, BERLIN) == "Sun 29 Mar, 03:30 CEST"
    assert moments.moment(after, BERLIN) == "Sun 29 Mar 2026, 03:30"


def test_a_moments_day_is_the_day_on_the_units_clock_not_in_utc():
    late_evening_in_new_york = dt.datetime(2026, 12, 5, 2, 30, tzinfo=dt.UTC)  # 21:30 on the 4th
    assert moments.day(late_evening_in_new_york, NEW_YORK) == "4 Dec 2026"
    assert moments.day_short(late_evening_in_new_york, NEW_YORK) == "4 Dec"
    assert moments.day(late_evening_in_new_york, BERLIN) == "5 Dec 2026"


def test_a_moments_day_without_a_zone_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="zone"):
        moments.day(AT)


def test_a_naive_moment_is_refused():
    with pytest.raises(ValueError):
        moments.moment(dt.datetime(2026, 12, 4, 9, 19), BERLIN)  # noqa: DTZ001 (the point of the test)


@pytest.mark.parametrize(
    ("write", "template_format"),
    [
        (moments.moment, "D j M Y, H:i"),
        (moments.moment_short, "D j M, H:i"),
        (moments.moment_zoned, "D j M, H:i T"),
    ],
)
def test_python_and_the_templates_write_a_moment_alike(write, template_format):
    with timezone.override(BERLIN):
        shown = Template(f'{{{{ at|date:"{template_format}" }}}}').render(Context({"at": AT}))
    assert write(AT, BERLIN) == shown


def test_no_template_writes_a_day_for_people_with_a_leading_zero():
    """The templates write days as accounts.moments does ("j", not "d"); a machine format
    (an ISO-like "Y-m-d" audit column) keeps its zeros. The reminders panel's snooze badge wrote
    "D d M H:i" ("Snoozed until Fri 04 Dec 07:00")."""
    root = pathlib.Path(settings.BASE_DIR) / "templates"
    zero_padded = [
        f"{path.relative_to(root)}: {found}"
        for path in root.rglob("*.html")
        for found in re.findall(r'\|date:"([^"]*)"', path.read_text())
        if "d" in found and "Y-m-d" not in found
    ]
    assert zero_padded == []


# The shapes a page may write a date and a time together in: accounts.moments' three, and its
# moment with the year followed by the zone (a template's publication, read in every unit).
PAGE_MOMENTS = {moments.MOMENT, moments.MOMENT_SHORT, moments.MOMENT_ZONED, f"{moments.MOMENT} T"}
_DAY_CHARACTERS = set("dDjlNSwzFMmnb")
_TIME_CHARACTERS = set("aAfgGhHiPsu")


def _template_date_formats():
    root = pathlib.Path(settings.BASE_DIR) / "templates"
    for path in sorted(file for file in root.rglob("*") if file.is_file()):  # the emails' .txt too
        for filtered, now in re.findall(r"""\|date:["']([^"']*)["']|{%\s*now\s+["']([^"']*)["']""", path.read_text()):
            yield path.relative_to(root), filtered or now


def test_every_date_and_time_in_a_template_is_one_of_the_moments_shapes():
    """A page writes a day with its time as accounts.moments does ("Fri 4 Dec 2026, 09:19", or
    "Fri 4 Dec, 09:19" for the days around now), never "4 Dec 2026 09:19" beside "4 Dec 2026,
    09:19" or "Friday 4 December 2026, 09:19". Machine formats ("Y-m-d H:i", ISO) keep theirs,
    and a time alone ("H:i T") is no moment."""
    strays = [
        f"{path}: {found}"
        for path, found in _template_date_formats()
        if set(found) & _DAY_CHARACTERS
        and set(found) & _TIME_CHARACTERS
        and "Y-m-d" not in found
        and found not in PAGE_MOMENTS
    ]
    assert strays == []
