"""Form fields every app shares: a date and time typed on a unit's clock, within sane years.

A year like 9999, converted to UTC, falls outside what Python's datetime can read back: a page
that shows it would fail. Clinical times live between these years; anything else is a typo.
"""

import datetime as dt

from django import forms
from django.forms.fields import BaseTemporalField
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import moments

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a browser's datetime-local field sends
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099


TIME_24H = r"([01][0-9]|2[0-3]):[0-5][0-9]"
HALF = "|"  # between a date and a time when only one of them was given

# The hour that the clocks go back over comes twice: which of its two readings a time is, as the
# field's choice sends it (`<name>_2`) and as its text carries it on ("2026-11-01 01:30, the second
# time"). Each word's place is zoneinfo's `fold`: 0 the first time, 1 the second.
READINGS = ("first", "second")
READING_TEXT = ", the {} time"


class DateAndTimeWidget(forms.MultiWidget):
    """A date picker and a time typed on a 24-hour clock (HH:MM). A browser's datetime-local picker
    shows 12 hours with AM and PM in a browser set to US English: a time misread by 12 hours is a
    premedication or a first visit on the wrong side of the day.

    The browser sends `<name>_0` (the date) and `<name>_1` (the time); a single `<name>` value
    ("2026-03-02T08:50" or "2026-03-02 08:50") is read too. A time in the hour that the clocks go
    back over is followed by the choice of which one it was (`<name>_2`, "first" or "second"),
    drawn only then: the date and the time alone cannot say."""

    template_name = "accounts/widgets/date_and_time.html"

    def __init__(self, attrs=None):
        side_by_side = "d-inline-block w-auto me-1"
        date = {"type": "date", "class": side_by_side}
        time = {"inputmode": "numeric", "pattern": TIME_24H, "placeholder": "HH:MM", "maxlength": 5, "size": 6}
        time["class"] = side_by_side
        super().__init__([forms.DateInput(attrs=date, format="%Y-%m-%d"), forms.TextInput(time)], attrs)

    def decompress(self, value):
        """[date, time, reading]: the reading ("first" or "second") of a time in a repeated hour."""
        if isinstance(value, dt.datetime):
            # Naive as the field prepares it (on the current clock), its `fold` saying which reading.
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            repeated = clock_change_at(local.replace(tzinfo=None)) is not None
            return [local.date(), local.strftime("%H:%M"), READINGS[local.fold] if repeated else None]
        if isinstance(value, str) and value:
            # A refused form is drawn again from what was sent (value_from_datadict's text): each
            # half back in its box as it was typed, to be corrected rather than typed again.
            value, fold = without_reading(value)
            date, _, time = value.partition(HALF) if HALF in value else value.replace("T", " ", 1).partition(" ")
            return [date or None, time or None, None if fold is None else READINGS[fold]]
        return [None, None, None]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        date, time, reading = self.decompress(value)
        context["widget"]["clock_reading"] = clock_reading_choice(
            f"{name}_2", context["widget"]["attrs"].get("id", ""), date, time, reading
        )
        return context

    def value_from_datadict(self, data, files, name):
        if name in data:
            return data.get(name)
        date, time = super().value_from_datadict(data, files, name)
        if bool(date) != bool(time):  # half given: said by the field, never midnight by default
            return f"{date or ''}{HALF}{time or ''}"
        reading = data.get(f"{name}_2")
        if date and reading in READINGS:  # ignored by the field unless the time is in a repeated hour
            return f"{date} {time}{READING_TEXT.format(reading)}"
        return f"{date or ''} {time or ''}".strip()

    def value_omitted_from_data(self, data, files, name):
        return name not in data and super().value_omitted_from_data(data, files, name)


class LocalDateTimeField(forms.DateTimeField):
    """A date and a 24-hour time (DateAndTimeWidget), read in the current time zone (the view
    activates the unit's)."""

    widget = DateAndTimeWidget

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", [LOCAL_INPUT, "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)
        self.error_messages["invalid"] = "Give a date and a time on a 24-hour clock (HH:MM, for example 14:30)."
        # The pair sits under the field's legend; each input also says what it is, on its own.
        date_input, time_input = self.widget.widgets
        date_input.attrs["aria-label"] = f"{self.label or 'Date'}: date"
        time_input.attrs["aria-label"] = f"{self.label or 'Time'}: time, 24-hour (HH:MM)"

    def to_python(self, value) -> dt.datetime | None:
        if isinstance(value, str) and HALF in value:
            date, _, time = value.partition(HALF)
            missing = "the time too, on a 24-hour clock (HH:MM)" if date else "the date too"
            raise forms.ValidationError(f"Give {missing}.", code="half")
        if isinstance(value, str) and is_a_date(value):
            # One value holding a date alone ("2026-03-29", as an API client may send): Django would
            # read it as midnight, a time nobody gave.
            raise forms.ValidationError("Give the time too, on a 24-hour clock (HH:MM).", code="half")
        fold = None
        if isinstance(value, str):
            value, fold = without_reading(value)
        moment = self._as_typed(value)
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise forms.ValidationError(
                f"Give a date between {EARLIEST_YEAR} and {LATEST_YEAR}: {moment.year} is a typo.", code="year"
            )
        if moment is not None and timezone.is_naive(moment):
            # On the unit's clock, read here rather than by Django: its refusal of a time in a clock
            # change ("may be ambiguous or it may not exist") left the nurse no way to give it.
            moment = on_unit_clock(moment, fold)
        return moment

    def _as_typed(self, value) -> dt.datetime | None:
        """The date and time as given: aware when it carries its offset, naive (on the unit's clock)
        otherwise."""
        if value in self.empty_values:
            return None
        if not isinstance(value, str):
            return value if isinstance(value, dt.datetime) else super().to_python(value)
        try:
            moment = parse_datetime(value.strip())
        except ValueError:  # well formed, but no such day or hour
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        # Not ISO: the input formats, read by the temporal field's own reader (DateTimeField's would
        # put the result on the clock at once).
        return moment or BaseTemporalField.to_python(self, value)


def without_reading(value: str) -> tuple[str, int | None]:
    """The date and time text, and its reading (`fold`) if one was chosen ("…, the second time")."""
    for fold, word in enumerate(READINGS):
        ending = READING_TEXT.format(word)
        if value.endswith(ending):
            return value.removesuffix(ending), fold
    return value, None


def on_unit_clock(local: dt.datetime, fold: int | None) -> dt.datetime:
    """A naive date and time on the current clock (the unit's), as the moment it was.

    In the hour that the clocks go back over, the time came twice: `fold` says which (refused with
    the choice when it is None). In the hour they go forward over, no clock showed it: refused."""
    zone = timezone.get_current_timezone()
    first, second = (local.replace(tzinfo=zone, fold=reading) for reading in (0, 1))
    changed_at = clock_change_at(local)
    if changed_at is None:
        return first
    day, time, changed = moments.day(local.date()), f"{local:%H:%M}", f"{changed_at:%H:%M}"
    if not shown_by_the_clock(first):
        raise forms.ValidationError(
            f"{time} does not exist on {day} on this unit's clock (the clocks went forward at {changed}): "
            "give the time as the clock showed it.",
            code="nonexistent",
        )
    if fold is None:
        raise forms.ValidationError(
            f"{time} came twice on {day} on this unit's clock (the clocks went back at {changed}): "
            f"say which {time} it was.",
            code="repeated",
        )
    # On the reading's own offset (01:30-05:00), which says the moment alone: two datetimes on one
    # zone compare and subtract by their wall times, as if `fold` were not there.
    chosen = (first, second)[fold]
    return chosen.replace(tzinfo=dt.timezone(chosen.utcoffset()), fold=0)


def shown_by_the_clock(moment: dt.datetime) -> bool:
    """Whether a clock on `moment`'s zone ever showed its date and time (not in a skipped hour)."""
    there_and_back = moment.astimezone(dt.UTC).astimezone(moment.tzinfo)
    return there_and_back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def clock_change_at(local: dt.datetime, zone: dt.tzinfo | None = None) -> dt.datetime | None:
    """When a naive date and time falls in a clock change on `zone`'s clock (the current one by
    default), in an hour that was skipped or came twice, the time on the clock when it changed
    ("02:00"); None otherwise."""
    zone = zone or timezone.get_current_timezone()
    local = local.replace(second=0, microsecond=0)  # clocks change on the minute
    first, second = (local.replace(tzinfo=zone, fold=reading) for reading in (0, 1))
    if first.utcoffset() == second.utcoffset():
        return None
    # The change happened between the two readings' instants: the earlier is on the old clock,
    # the later on the new one. Search for its minute, counted from the earlier.
    before, after = sorted((first.astimezone(dt.UTC), second.astimezone(dt.UTC)))
    old_offset, new_offset = before.astimezone(zone).utcoffset(), after.astimezone(zone).utcoffset()
    on_old, on_new = 0, int((after - before).total_seconds() // 60)
    while on_new - on_old > 1:
        middle = (on_old + on_new) // 2
        if (before + dt.timedelta(minutes=middle)).astimezone(zone).utcoffset() == new_offset:
            on_new = middle
        else:
            on_old = middle
    return (before + dt.timedelta(minutes=on_new) + old_offset).replace(tzinfo=None)


def reading_text(moment: dt.datetime) -> str:
    """ ", the second time" after a moment on its zone's clock in an hour that came twice (as the
    field reads it back), "" after any other: the date and time alone would not say which."""
    if clock_change_at(moment.replace(tzinfo=None), moment.tzinfo) is None:
        return ""
    return READING_TEXT.format(READINGS[moment.fold])


def clock_reading_choice(name: str, id_: str, date, time, chosen: str | None) -> dict | None:
    """The choice between a repeated hour's two readings of a time, in words on the current clock
    ("01:30 the first time (EDT, UTC-4)"), for the widget's template; None for any other time."""
    try:
        local = dt.datetime.strptime(f"{date} {time}", "%Y-%m-%d %H:%M")  # noqa: DTZ007 (on the unit's clock)
    except ValueError:
        return None
    zone = timezone.get_current_timezone()
    if clock_change_at(local) is None or not shown_by_the_clock(local.replace(tzinfo=zone)):
        return None
    options = []
    for fold, word in enumerate(READINGS):
        reading = local.replace(tzinfo=zone, fold=fold)
        options.append(
            {
                "value": word,
                "label": f"{local:%H:%M} the {word} time ({clock_name(reading)})",
                "checked": word == chosen,
                "id": f"{id_}_2_{fold}",
            }
        )
    return {"name": name, "legend": f"Which {local:%H:%M}?", "options": options}


def clock_reading_html(name: str, id_: str, value: str) -> str:
    """The choice of clock_reading_choice as the widget draws it, for a row that writes its own
    inputs (coordination.worklist); "" when the time needs none."""
    date, time, chosen = DateAndTimeWidget().decompress(value)
    choice = clock_reading_choice(name, id_, date, time, chosen)
    return render_to_string("accounts/widgets/clock_reading.html", {"reading": choice}) if choice else ""


def clock_name(moment: dt.datetime) -> str:
    """The clock a moment reads on, "EDT, UTC-4" (its zone's abbreviation, when it has a name)."""
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign, hours, rest = "-" if minutes < 0 else "+", abs(minutes) // 60, abs(minutes) % 60
    offset = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    abbreviation = moment.tzname() or ""
    return offset if abbreviation[:1] in "+-" else f"{abbreviation}, {offset}"


class ClinicalDateField(forms.DateField):
    """A day of the plan (a course's first day, a cycle's next start), within the same sane years
    as LocalDateTimeField: 9999 overflows a schedule counted on from it, and year 1 is a typo."""

    def to_python(self, value) -> dt.date | None:
        day = super().to_python(value)
        if day is not None and not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise forms.ValidationError(
                f"Give a date between {EARLIEST_YEAR} and {LATEST_YEAR}: {day.year} is a typo.", code="year"
            )
        return day


def is_a_date(value: str) -> bool:
    """A date and nothing more, in any spelling that Python's ISO reader takes as one."""
    try:
        dt.date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def utc_unless_offset(value: str) -> str:
    """A date and time sent without an offset ("2026-12-06T20:00"), with UTC's added
    ("2026-12-06T20:00:00+00:00"), as the API reads its times; anything else as it came: one with
    an offset, a date alone or what is no date and time, which LocalDateTimeField refuses in its
    words. The pages read the same text on the unit's clock (a person at the bedside). A reading
    of a repeated hour (", the second time"), which UTC never has, is dropped with it: kept, the
    field would read the time on the unit's clock."""
    text, _ = without_reading(value)
    try:
        moment = parse_datetime(text.strip())
    except ValueError:  # well formed, but no such day or hour: the field says so
        return value
    if moment is None or timezone.is_aware(moment) or is_a_date(text):
        return value
    return moment.replace(tzinfo=dt.UTC).isoformat()
