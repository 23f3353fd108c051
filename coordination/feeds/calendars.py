"""The calendars behind the feeds, built with icalendar.

Calendars leave the hospital (a phone's calendar syncs to someone's cloud), so an event names
its patient by initials and the last four digits of the MRN, never by name; its description
links to the product's page, which asks for a sign-in. Times are in the unit's zone, with its
VTIMEZONE, so that a calendar shows them on the unit's clock across a daylight-saving change.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from checklists.models import Task
from checklists.selectors import my_work
from patients.models import CareEvent, Patient

# How far the feeds look: my open work from a week back (overdue) to two weeks ahead; the unit's
# care events for the next seven days.
MY_WORK_BEFORE, MY_WORK_AHEAD = dt.timedelta(days=7), dt.timedelta(days=14)
UNIT_AHEAD = dt.timedelta(days=7)
TASK_MINUTES = 15
REFRESH = dt.timedelta(minutes=15)
UID_DOMAIN = "care-coordination-tracker"


def patient_label(patient: Patient) -> str:
    """What a calendar may say of a patient: initials and the MRN's last four characters."""
    initials = f"{patient.given_name[:1]}.{patient.family_name[:1]}.".upper()
    return f"{initials} MRN …{patient.mrn[-4:]}"


def unit_zone(user) -> zoneinfo.ZoneInfo:
    return user.unit.zone if user.unit_id else zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _calendar(name: str, zone: zoneinfo.ZoneInfo) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//Care Coordination Tracker//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone.key)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")  # as REFRESH, for the clients that read only this one
    return calendar


def _event(uid: str, *, start: dt.datetime, duration: dt.timedelta, summary: str, description: str, now) -> Event:
    event = Event()
    event.add("uid", f"{uid}@{UID_DOMAIN}")
    event.add("dtstamp", now)
    event.add("dtstart", start)
    event.add("duration", duration)
    event.add("summary", summary)
    event.add("description", description)
    return event


def _finish(calendar: Calendar, now: dt.datetime) -> bytes:
    # A VTIMEZONE for every zone that the events use, with the transitions of the year around
    # the feed's window (not every one since 1970).
    today = now.date()
    calendar.add_missing_timezones(first_date=today - dt.timedelta(days=366), last_date=today + dt.timedelta(days=366))
    return calendar.to_ical()


def my_work_calendar(user, *, absolute, now: dt.datetime | None = None) -> tuple[bytes, list[int]]:
    """The user's open tasks (assigned to them, or in their role's pool on their care teams)
    due from a week back to two weeks ahead; and the ids of the patients it names."""
    now = now or timezone.now()
    zone = unit_zone(user)
    tasks = list(
        my_work(user)
        .filter(status=Task.Status.OPEN, due_at__gte=now - MY_WORK_BEFORE, due_at__lte=now + MY_WORK_AHEAD)
        .order_by("due_at", "pk")
    )
    patients = Patient.objects.in_bulk({task.patient_id for task in tasks})
    calendar = _calendar("My due work", zone)
    for task in tasks:
        label = patient_label(patients[task.patient_id])
        overdue = " (overdue)" if task.due_at < now else ""
        calendar.add_component(
            _event(
                f"task-{task.pk}",
                start=timezone.localtime(task.due_at, zone),
                duration=dt.timedelta(minutes=TASK_MINUTES),
                summary=f"{task.text[:80]}: {label}{overdue}",
                description=f"{task.get_role_display()} task of the {task.event.get_kind_display().lower()}, "
                f"cycle {task.event.cycle.number}. "
                f"Open it: {absolute(reverse('event_detail', args=[task.event_id]))}",
                now=now,
            )
        )
    return _finish(calendar, now), sorted(patients)


def unit_week_calendar(user, *, absolute, now: dt.datetime | None = None) -> tuple[bytes, list[int]]:
    """The care events planned on the coordinator's unit in the next seven days."""
    now = now or timezone.now()
    zone = unit_zone(user)
    patients = Patient.objects.visible_to(user, grants=False).filter(unit_id=user.unit_id)
    events = list(
        CareEvent.objects.filter(
            patient__in=patients,
            planned_at__gte=now,
            planned_at__lt=now + UNIT_AHEAD,
            status__in=[CareEvent.Status.PLANNED, CareEvent.Status.IN_PROGRESS],
        )
        .select_related("patient", "cycle")
        .order_by("planned_at", "pk")
    )
    calendar = _calendar(f"{user.unit}: next 7 days", zone)
    for event in events:
        link = absolute(reverse("event_detail", args=[event.pk]))
        calendar.add_component(
            _event(
                f"event-{event.pk}",
                start=timezone.localtime(event.planned_at, zone),
                duration=dt.timedelta(minutes=30),
                summary=f"{event.get_kind_display()} (cycle {event.cycle.number}): {patient_label(event.patient)}",
                description=f"{event.get_setting_display()}. Open it: {link}",
                now=now,
            )
        )
    return _finish(calendar, now), sorted({event.patient_id for event in events})
