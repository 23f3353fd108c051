"""What a reminder says: in the tracker (the bell) and by email.

Emails carry the least patient information that works: the patient's initials and the last 4
characters of the MRN, the role, the time, and a link into the tracker (which checks access as
always); never a name, a diagnosis, the checklist's wording or the kind of event (a bag change
names the treatment). The bell, behind sign-in, names the patient by name and MRN (two
identifiers, as every page does) and shows what the task is.
Times are in the time zone of the patient's unit (the digest: the recipient's unit), always with
the day and the zone (accounts.moments.moment_zoned): a message is read later than it is sent (an
email opened the next morning), and its reader may be on another clock.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.urls import reverse

from accounts import moments
from accounts.models import Role
from checklists.gate import event_readiness
from checklists.models import Task
from checklists.selectors import my_work

from .models import Reminder
from .rules import zone_of

Kind = Reminder.Kind
TASK_KINDS = {Kind.DUE_SOON, Kind.OVERDUE, Kind.ESCALATION}
HANDOFF_KINDS = {Kind.HANDOFF_UNACKNOWLEDGED, Kind.HANDOFF_ESCALATION}
ALERT_KINDS = {Kind.TOXICITY_ALERT, Kind.TOXICITY_ESCALATION}
# A digest lists the work due within this horizon, and what is overdue.
DIGEST_HORIZON = dt.timedelta(hours=24)
DIGEST_MAX_TASKS = 500
# How an event-not-ready notification begins (services.on_events_changed finds them by it).
GATE_TITLE = "Not ready, starts"


@dataclass
class Message:
    """One reminder, worded: `title`, `body` and `link` for the bell; `email` names the email
    templates (coordination/reminders/email/<email>_subject.txt, .txt, .html), `context` fills them."""

    title: str
    body: str
    link: str
    email: str = "reminder"
    context: dict = field(default_factory=dict)
    # Urgent messages go out on every channel that can reach the person, whatever their settings.
    urgent: bool = False

    @property
    def url(self) -> str:
        return settings.SITE_URL.rstrip("/") + self.link


def patient_label(patient) -> str:
    """J.D. (MRN ending 1234): enough to find the patient in the tracker, too little to identify
    them elsewhere. Plain ASCII, so that an email's subject needs no encoding."""
    initials = "".join(f"{name[:1].upper()}." for name in (patient.given_name, patient.family_name) if name)
    return f"{initials} (MRN ending {patient.mrn[-4:]})"


def role_label(role: str) -> str:
    return Role(role).label if role in Role.values else role


def compose(reminder: Reminder, *, now: dt.datetime, digest: DigestWork | None = None) -> Message:
    """The message of a reminder whose relations are loaded (see delivery.RELATIONS)."""
    if reminder.kind in TASK_KINDS:
        return _task_message(reminder)
    if reminder.kind == Kind.GATE_NOT_READY:
        return _gate_message(reminder)
    if reminder.kind in HANDOFF_KINDS:
        return _handoff_message(reminder)
    if reminder.kind in ALERT_KINDS:
        return _alert_message(reminder)
    if reminder.kind == Kind.DIGEST:
        return _digest_message(reminder, digest, now)
    raise ValueError(f"No message for reminders of kind {reminder.kind!r}")


def _task_message(reminder: Reminder) -> Message:
    task = reminder.task
    patient = task.patient
    when = moments.moment_zoned(task.due_at, patient.unit.zone)
    label = patient_label(patient)
    role = role_label(task.role)
    titles = {
        Kind.DUE_SOON: f"Due {when}: {task.text}",
        Kind.OVERDUE: f"Overdue since {when}: {task.text}",
        Kind.ESCALATION: f"Escalation, overdue since {when}: {task.text}",
    }
    body = f"{patient} · {task.event.get_kind_display()} · {role} task"
    if reminder.kind == Kind.ESCALATION:
        body += f" · {'assigned to ' + str(task.assignee) if task.assignee_id else 'not claimed by anyone'}"
        if task.hard_stop:
            body += " · hard stop"
        if reminder.note:
            body += f" · {reminder.note[:1].upper()}{reminder.note[1:]}"
    link = reverse("event_detail", args=[task.event_id]) + f"#task-{task.pk}"
    context = {
        "kind": reminder.kind,
        "patient": label,
        "when": when,
        "role": role,
        "role_task": f"{'an' if role[:1].lower() in 'aeiou' else 'a'} {role.lower()} task",
        "hard_stop": task.hard_stop,
        "assigned": bool(task.assignee_id),
    }
    return Message(title=titles[reminder.kind][:200], body=body, link=link, context=context)


def _gate_message(reminder: Reminder) -> Message:
    event = reminder.event
    patient = event.patient
    when = moments.moment_zoned(event.planned_at, patient.unit.zone)
    readiness = event_readiness(event.checklists.all())
    waiting = Counter(role_label(blocker.role) for blocker in readiness.unresolved)
    waiting_text = ", ".join(f"{role} ({count})" for role, count in sorted(waiting.items()))
    return Message(
        title=f"{GATE_TITLE} {when}: {event.get_kind_display()}"[:200],
        body=f"{patient} · waiting for: {waiting_text}",
        link=reverse("event_detail", args=[event.pk]),
        context={"kind": reminder.kind, "patient": patient_label(patient), "when": when, "waiting": waiting_text},
    )


def _handoff_message(reminder: Reminder) -> Message:
    handoff = reminder.handoff
    patient = handoff.patient
    when = moments.moment_zoned(handoff.acknowledge_by, handoff.to_unit.zone)
    if reminder.kind == Kind.HANDOFF_UNACKNOWLEDGED:
        title = f"Handoff to acknowledge, due {when}"
    else:
        title = f"Handoff not acknowledged since {when}"
    return Message(
        title=title,
        body=f"{patient} · from {handoff.from_unit} to {handoff.to_unit}",
        link=reverse("handoff_detail", args=[handoff.pk]),
        context={
            "kind": reminder.kind,
            "patient": patient_label(patient),
            "when": when,
            "from_unit": str(handoff.from_unit),
            "to_unit": str(handoff.to_unit),
        },
    )


def _alert_message(reminder: Reminder) -> Message:
    alert = reminder.alert
    patient = alert.patient
    when = moments.moment_zoned(alert.raised_at, alert.unit.zone)
    escalated = reminder.kind == Kind.TOXICITY_ESCALATION
    title = f"{'Escalated, not acknowledged: ' if escalated else 'URGENT: '}{alert.reason}"
    return Message(
        title=title[:200],
        body=f"{patient} · raised {when}{' · ' + alert.get_ask_display() if alert.ask else ''}",
        link=reverse("alert_detail", args=[alert.pk]),
        email="alert",
        context={
            "kind": reminder.kind,
            "patient": patient_label(patient),
            "when": when,
            "reason": alert.reason,
            "ask": alert.get_ask_display() if alert.ask else "",
            "escalated": escalated,
        },
        urgent=True,
    )


# --- the daily digest ---------------------------------------------------------------------------------


@dataclass
class DigestLine:
    patient: str
    overdue: int = 0
    due: int = 0
    verify: int = 0
    answer_again: int = 0
    first_due: str = ""

    @property
    def parts(self) -> list[str]:
        """What the line counts, each a phrase: the email joins them with "; ", as a time's own
        comma ("first at Tue 24 Nov, 14:00 CET") would otherwise run into the next count."""
        due = f"{self.due} due" + (f", first at {self.first_due}" if self.first_due else "")
        return [
            phrase
            for count, phrase in (
                (self.overdue, f"{self.overdue} overdue"),
                (self.due, due),
                (self.verify, f"{self.verify} to verify"),
                (self.answer_again, f"{self.answer_again} to answer again (hard stop failed)"),
            )
            if count
        ]


@dataclass
class DigestWork:
    overdue: int = 0
    due: int = 0
    verify: int = 0
    answer_again: int = 0  # the user's answers that failed a hard stop and still block their event
    lines: list[DigestLine] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.due or self.verify or self.answer_again)


def digest_work(user, now: dt.datetime) -> DigestWork:
    """The user's open work, as My work shows it: overdue, due within 24 hours, to verify, and
    their own answers that failed a hard stop, to answer again (done, but not theirs to verify)."""
    tasks = (
        my_work(user)
        .filter(Q(status=Task.Status.DONE) | Q(status=Task.Status.OPEN, due_at__lte=now + DIGEST_HORIZON))
        .order_by("due_at")[:DIGEST_MAX_TASKS]
    )
    zone = zone_of(user)
    work = DigestWork()
    lines: dict[int, DigestLine] = {}
    for task in tasks:
        line = lines.setdefault(task.patient_id, DigestLine(patient=patient_label(task.patient)))
        if task.status == Task.Status.DONE and task.hard_stop_failed and task.completed_by_id == user.pk:
            line.answer_again += 1
            work.answer_again += 1
            continue
        if task.status == Task.Status.DONE:
            line.verify += 1
            work.verify += 1
            continue
        if task.due_at < now:
            line.overdue += 1
            work.overdue += 1
        else:
            line.due += 1
            work.due += 1
            # Printed beside "due": the first task still to come, never one already overdue.
            line.first_due = line.first_due or moments.moment_zoned(task.due_at, zone)
    work.lines = list(lines.values())
    return work


def _digest_message(reminder: Reminder, work: DigestWork | None, now: dt.datetime) -> Message:
    work = work or digest_work(reminder.recipient, now)
    summary = f"{work.overdue} overdue, {work.due} due in the next 24 hours, {work.verify} to verify"
    if work.answer_again:
        summary += f", {work.answer_again} failed hard stop{pluralize(work.answer_again)} to answer again"
    return Message(
        title=f"Your open work: {summary}",
        body="; ".join(f"{line.patient}: {_line_text(line)}" for line in work.lines[:20]),
        link=reverse("home"),
        email="digest",
        context={"kind": reminder.kind, "work": work, "summary": summary},
    )


def _line_text(line: DigestLine) -> str:
    parts = [
        f"{count} {what}"
        for count, what in (
            (line.overdue, "overdue"),
            (line.due, "due"),
            (line.verify, "to verify"),
            (line.answer_again, "to answer again"),
        )
        if count
    ]
    return ", ".join(parts)
