"""The calendars behind the feeds, built with icalendar.

Calendars leave the hospital (a phone's calendar syncs to someone's cloud), so an event names
its patient by initials and the last four digits of the MRN, never by name, and says what kind
of work it is and whose, never a task's or an action's wording: that names the drug (and with it
the diagnosis) and doses, which no alert email names either. Its description links to the
product's page, which asks for a sign-in and shows the wording. Times are in the unit's zone,
with its VTIMEZONE, so that a calendar shows them on the unit's clock across a daylight-saving
change.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vText

from accounts.models import Role
from checklists.models import Task
from checklists.selectors import my_work
from patients.models import CareEvent, Patient

from ..handoffs.selectors import handoff_actions_for

# How far the feeds look: my open work from a week back (overdue) to two weeks ahead; the unit's
# care events for the next seven days.
MY_WORK_BEFORE, MY_WORK_AHEAD = dt.timedelta(days=7), dt.timedelta(days=14)
UNIT_AHEAD = dt.timedelta(days=7)
# A cancelled care event stays in the unit's calendar, marked cancelled, while it was planned from
# this long ago to the end of the feed: a calendar app that read it before it was cancelled keeps
# its copy until a feed says it is cancelled (RFC 5545), and one that was offline for two weeks
# still learns it. An event keeps its planned time when cancelled, and the time of the cancellation
# is only in the audit log, so the window is of the planned time.
CANCELLED_KEPT = dt.timedelta(days=14)
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
    # An X- property is TEXT, but icalendar escapes only the properties it knows as TEXT: a unit's
    # name with a comma, a semicolon or a line break would go out raw (a line break: a 500).
    calendar.add("x-wr-calname", vText(name))
    calendar.add("x-wr-timezone", zone.key)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")  # as REFRESH, for the clients that read only this one
    return calendar


def _event(
    uid: str,
    *,
    start: dt.datetime,
    duration: dt.timedelta,
    summary: str,
    description: str,
    now,
    cancelled: bool = False,
) -> Event:
    event = Event()
    event.add("uid", f"{uid}@{UID_DOMAIN}")
    event.add("dtstamp", now)
    event.add("dtstart", start)
    event.add("duration", duration)
    event.add("summary", f"Cancelled: {summary}" if cancelled else summary)
    event.add("description", description)
    # A calendar app replaces its copy of an event by one with a higher SEQUENCE (RFC 5545
    # 3.8.7.4), and removes or strikes it through when that one says CANCELLED (3.8.1.11).
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("sequence", 1 if cancelled else 0)
    return event


def _finish(calendar: Calendar, now: dt.datetime) -> bytes:
    # A VTIMEZONE for every zone that the events use, with the transitions of the year around
    # the feed's window (not every one since 1970).
    today = now.date()
    calendar.add_missing_timezones(first_date=today - dt.timedelta(days=366), last_date=today + dt.timedelta(days=366))
    return calendar.to_ical()


@dataclass
class _DueWork:
    """One entry of My due work: the open tasks of one care event, or the open actions of one
    handoff, due at one time."""

    uid: str
    what: str  # "Bag change #3", "Hospital → home handoff"
    where: str  # "cycle 2", "taken over by your unit"
    due_at: dt.datetime
    patient_id: int
    link: str
    items: list = field(default_factory=list)

    def summary(self, patient: Patient, now: dt.datetime) -> str:
        """ "Bag change #3: 2 tasks (nurse) · J.D. MRN …1234": never the wording of the tasks."""
        overdue = "Overdue · " if self.due_at < now else ""
        return f"{overdue}{self.what}: {self.count} ({self.whose}) · {patient_label(patient)}"

    def description(self, now: dt.datetime) -> str:
        overdue = ", overdue" if self.due_at < now else ""
        return (
            f"{self.what}, {self.where}: {self.count} for the {self.whose}{overdue}. "
            f"What to do is on the tracker's page, after sign-in: {self.link}"
        )

    @property
    def count(self) -> str:
        return f"{len(self.items)} task{pluralize(len(self.items))}"

    @property
    def whose(self) -> str:
        roles = {item.role for item in self.items}
        return ", ".join(Role(role).label.lower() for role in Role.values if role in roles)


def _stamp(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


def my_work_calendar(user, *, absolute, now: dt.datetime | None = None) -> tuple[bytes, list[int]]:
    """The user's open tasks (assigned to them, or in their role's pool on their care teams) and
    open handoff actions (their role's, on the handoffs their unit took over), due from a week back
    to two weeks ahead, one entry per care event (or handoff) and due time; and the ids of the
    patients it names."""
    now = now or timezone.now()
    zone = unit_zone(user)
    since, until = now - MY_WORK_BEFORE, now + MY_WORK_AHEAD
    tasks = list(
        my_work(user).filter(status=Task.Status.OPEN, due_at__gte=since, due_at__lte=until).order_by("due_at", "pk")
    )
    # The handoffs' selector applies My work's access rule: the patients that the user sees.
    actions = [action for action in handoff_actions_for(user) if since <= action.due_at <= until]

    work: dict[str, _DueWork] = {}
    for task in tasks:
        event = task.event
        uid = f"tasks-{event.pk}-{_stamp(task.due_at)}"
        if uid not in work:
            link = absolute(reverse("event_detail", args=[event.pk]))
            work[uid] = _DueWork(uid, event.label, f"cycle {event.cycle.number}", task.due_at, task.patient_id, link)
        work[uid].items.append(task)
    for action in actions:
        handoff = action.handoff
        uid = f"handoff-{handoff.pk}-{_stamp(action.due_at)}"
        if uid not in work:
            what, link = f"{handoff.get_kind_display()} handoff", absolute(reverse("handoff_detail", args=[handoff.pk]))
            work[uid] = _DueWork(uid, what, "taken over by your unit", action.due_at, handoff.patient_id, link)
        work[uid].items.append(action)

    patients = Patient.objects.in_bulk({task.patient_id for task in tasks})
    patients.update({action.handoff.patient_id: action.handoff.patient for action in actions})
    calendar = _calendar("My due work", zone)
    for entry in sorted(work.values(), key=lambda entry: (entry.due_at, entry.uid)):
        calendar.add_component(
            _event(
                entry.uid,
                start=timezone.localtime(entry.due_at, zone),
                duration=dt.timedelta(minutes=TASK_MINUTES),
                summary=entry.summary(patients[entry.patient_id], now),
                description=entry.description(now),
                now=now,
            )
        )
    return _finish(calendar, now), sorted(patients)


def unit_week_calendar(user, *, absolute, now: dt.datetime | None = None) -> tuple[bytes, list[int]]:
    """The care events planned on the coordinator's unit from the start of today (on the unit's
    clock: a calendar shows the whole day, this morning's events included) to seven days ahead, the
    events under way (a stop of the infusion is planned when it happened), and the cancelled ones
    planned from CANCELLED_KEPT ago, marked cancelled."""
    now = now or timezone.now()
    zone = unit_zone(user)
    today = timezone.localtime(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    patients = Patient.objects.visible_to(user, grants=False).filter(unit_id=user.unit_id)
    events = list(
        CareEvent.objects.filter(patient__in=patients, planned_at__lt=now + UNIT_AHEAD)
        .filter(
            Q(status=CareEvent.Status.PLANNED, planned_at__gte=today)
            | Q(status=CareEvent.Status.IN_PROGRESS)
            | Q(status=CareEvent.Status.CANCELLED, planned_at__gte=now - CANCELLED_KEPT)
        )
        .select_related("patient", "cycle")
        .order_by("planned_at", "pk")
    )
    calendar = _calendar(f"{user.unit}: next 7 days", zone)
    for event in events:
        link = absolute(reverse("event_detail", args=[event.pk]))
        cancelled = event.status == CareEvent.Status.CANCELLED
        calendar.add_component(
            _event(
                f"event-{event.pk}",
                start=timezone.localtime(event.planned_at, zone),
                duration=dt.timedelta(minutes=30),
                summary=f"{event.get_kind_display()} (cycle {event.cycle.number}): {patient_label(event.patient)}",
                description=f"{'Cancelled. ' if cancelled else ''}{event.get_setting_display()}. Open it: {link}",
                now=now,
                cancelled=cancelled,
            )
        )
    return _finish(calendar, now), sorted({event.patient_id for event in events})
