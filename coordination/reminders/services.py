"""Snoozing a task's reminders, each person's reminder preferences, and the bell's notifications
(marking them read; telling the care team that a course stopped for good)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone

from accounts import moments
from accounts.audit import audited
from accounts.models import AuditEvent, Role, User
from checklists.gate import event_readiness
from checklists.models import Task
from checklists.selectors import checklists_with_tasks
from patients.models import CareEvent, Patient

from .content import GATE_TITLE, patient_label
from .models import Notification, Reminder, ReminderPreference, TaskSnooze
from .policy import can_end_snooze, can_snooze, hard_stop_recipients
from .rules import UnitRules


def _locked_open_task(task: Task, actor, *, decide=can_snooze) -> Task:
    # The task row only, so that two snoozes of one task take turns and a completion meanwhile is seen.
    task = Task.objects.select_for_update(no_key=True, of=("self",)).select_related("patient", "event").get(pk=task.pk)
    decide(actor, task).enforce()
    return task


@audited(AuditEvent.Action.UPDATE)
@transaction.atomic
def task_snooze(*, task: Task, actor, until: dt.datetime, reason: str, now: dt.datetime | None = None) -> TaskSnooze:
    """Hold the task's reminders until `until` (at most 24 hours ahead), with a reason.

    The due-soon and overdue reminders wait for the end of the snooze; the escalation to the
    coordinator does not (it says that the task is snoozed, until when and why). A new snooze
    replaces the task's live one.
    """
    now = now or timezone.now()
    task = _locked_open_task(task, actor)
    errors = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "Say why the reminders can wait."
    if until <= now:
        errors["until"] = "Choose a time in the future."
    elif until > now + TaskSnooze.MAX_DURATION:
        errors["until"] = "A snooze lasts at most 24 hours."
    if errors:
        raise ValidationError(errors)
    if task.snoozes.filter(ended_at__isnull=True, until__gt=now).update(ended_at=now, ended_by=actor):
        # A shorter snooze in place of a longer one: what the old one held waits only for the new
        # one's end (delivery asks again then, and holds anything another rule still holds).
        Reminder.objects.filter(task=task, state=Reminder.State.PENDING, dispatch_after__gt=until).update(
            dispatch_after=until
        )
    return TaskSnooze.objects.create(
        task=task, patient_id=task.patient_id, until=until, reason=reason[:500], created_by=actor, created_at=now
    )


@audited(AuditEvent.Action.UPDATE)
@transaction.atomic
def task_snooze_end(*, task: Task, actor, now: dt.datetime | None = None) -> int:
    """End the task's live snooze now: the reminders it held go out with the next sweep. Also of a
    task left open when its event was done or missed (no reminder is held any more: the snooze just ends)."""
    now = now or timezone.now()
    task = _locked_open_task(task, actor, decide=can_end_snooze)
    ended = task.snoozes.filter(ended_at__isnull=True, until__gt=now).update(ended_at=now, ended_by=actor)
    if ended:
        Reminder.objects.filter(task=task, state=Reminder.State.PENDING, dispatch_after__gt=now).update(
            dispatch_after=now
        )
    return ended


def preference_for(user) -> ReminderPreference:
    """The user's preferences, or the defaults (unsaved) if they never changed them."""
    return ReminderPreference.objects.filter(user=user).first() or ReminderPreference(user=user)


@transaction.atomic
def reminder_preference_update(*, user, email: bool, digest_hour: int | None, actor) -> ReminderPreference:
    if actor.pk != user.pk:
        raise PermissionDenied("People choose how they hear about their own work.")
    if digest_hour is not None and not 0 <= digest_hour <= 23:
        raise ValidationError({"digest_hour": "Choose an hour from 0 to 23."})
    preference, _ = ReminderPreference.objects.update_or_create(
        user=user, defaults={"email": email, "digest_hour": digest_hour}
    )
    return preference


# --- the bell ------------------------------------------------------------------------------------


@transaction.atomic
def notifications_mark_read(*, recipient, ids=None, now=None) -> int:
    unread = Notification.objects.filter(recipient=recipient, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=now or timezone.now())


def notifications_retire_unseeable(*, recipient: User | None = None, now: dt.datetime | None = None) -> int:
    """Mark read the unread notifications that name a patient their recipient no longer sees (a
    care team left, a grant or a handoff's access ended, a transfer): the list and the API hide
    them already, and the bell's count, which is not narrowed on every page (docs/performance.md),
    then agrees with the list. For one recipient (their notifications page) or for everyone with
    such notifications (the beat, every NOTIFICATION_RETIRE_MINUTES). Returns how many."""
    now = now or timezone.now()
    unread = Notification.objects.filter(read_at__isnull=True, patient__isnull=False)
    if recipient is not None:
        recipients = [recipient]
    else:
        recipients = User.objects.filter(pk__in=unread.values("recipient_id"))
    retired = 0
    for user in recipients:
        hidden = unread.filter(recipient=user).exclude(patient__in=Patient.objects.visible_to(user).values("pk"))
        retired += hidden.update(read_at=now)
    return retired


def _notify(recipient_ids, *, title: str, body: str, link: str, patient) -> None:
    """One bell notification each, written at once (the patients layer's hooks, below)."""
    Notification.objects.bulk_create(
        Notification(recipient_id=recipient_id, title=title, body=body, link=link, patient=patient)
        for recipient_id in recipient_ids
    )


def _named(patient) -> str:
    return f"{patient.family_name}, {patient.given_name} ({patient.mrn})"


def on_events_changed(*, created=(), moved=(), cancelled=(), facts=()) -> None:
    """The patients layer's hook: a moved event's tasks moved with it, and the bell notifications
    of their reminders give the old times ("Overdue since Wed 09:00" for work now due Thursday):
    the unread ones leave the count, and the sweep reminds again at the new times; so do the
    warnings that a moved or cancelled event is not ready ("Not ready, starts Wed 09:00"). (A
    cancelled event's tasks are cancelled: their notifications read as resolved already.)"""
    if not (moved or cancelled):
        return
    now = timezone.now()
    unread = Notification.objects.filter(read_at__isnull=True)
    # Only what was said of another time than the one now: a rebuild also counts an event whose
    # setting alone changed as moved, and its reminders, written for the time that still holds,
    # would not be sent again (the sweep writes one reminder per task, kind and due time).
    if moved:
        said_of_this_time = Reminder.objects.filter(
            task=OuterRef("task"), recipient=OuterRef("recipient"), due_at=OuterRef("task__due_at")
        )
        unread.filter(task__event__in=[event.pk for event in moved]).exclude(Exists(said_of_this_time)).update(
            read_at=now
        )
    warned_of_this_time = set(
        Reminder.objects.filter(
            kind=Reminder.Kind.GATE_NOT_READY, event__in=[event.pk for event in moved], due_at=F("event__planned_at")
        ).values_list("event_id", flat=True)
    )
    moved_off_their_warning = [event for event in moved if event.pk not in warned_of_this_time]
    links = [reverse("event_detail", args=[event.pk]) for event in [*moved_off_their_warning, *cancelled]]
    unread.filter(task__isnull=True, title__startswith=GATE_TITLE, link__in=links).update(read_at=now)


def notifications_retire_ready_gates(*, now: dt.datetime | None = None) -> int:
    """Mark read the unread warnings that an event is not ready ("Not ready, starts Wed 09:00")
    of the planned events whose gate is ready now (its last blocking task done, verified or marked
    not applicable, or the gate overridden): the bell no longer counts them. Run by the sweep every
    minute, in a constant number of queries however many events: the upcoming events within the
    longest warning window (the start time's index, as the rule that warns) with a warning of their
    current start still unread; their checklists; one update. Returns how many were marked."""
    now = now or timezone.now()
    horizon = dt.timedelta(hours=UnitRules().longest("gate_hours"))
    event_link = Concat(Value("/events/"), Cast(OuterRef("event_id"), CharField()), Value("/"))
    unread_warning = Notification.objects.filter(
        recipient_id=OuterRef("recipient_id"),
        read_at__isnull=True,
        task__isnull=True,
        title__startswith=GATE_TITLE,
        link=event_link,
    )
    warned = Reminder.objects.filter(
        event=OuterRef("pk"), kind=Reminder.Kind.GATE_NOT_READY, due_at=OuterRef("planned_at")
    ).filter(Exists(unread_warning))
    events = (
        CareEvent.objects.filter(status=CareEvent.Status.PLANNED, planned_at__gt=now, planned_at__lte=now + horizon)
        .filter(Exists(warned))
        .prefetch_related(checklists_with_tasks())
    )
    ready = [event.pk for event in events if event_readiness(event.checklists.all()).ready]
    if not ready:
        return 0
    return Notification.objects.filter(
        recipient__in=Reminder.objects.filter(kind=Reminder.Kind.GATE_NOT_READY, event__in=ready).values(
            "recipient_id"
        ),
        read_at__isnull=True,
        task__isnull=True,
        title__startswith=GATE_TITLE,
        link__in=[reverse("event_detail", args=[pk]) for pk in ready],
    ).update(read_at=now)


def on_course_stopped(*, course, reason: str, actor) -> None:
    """The patients layer's hook: tell the care team that a course stopped for good."""
    patient = course.patient
    who = actor.get_full_name() or actor.username if actor else "The system"
    _notify(
        [member.user_id for member in patient.care_team.all() if member.user_id != getattr(actor, "pk", None)],
        title=f"Course stopped for good: {_named(patient)}",
        body=f"{who}: {reason}. Future events and their open tasks are cancelled.",
        link=f"/patients/{patient.pk}/",
        patient=patient,
    )


def on_transfer(*, transfer) -> None:
    """The patients layer's hook: both units' coordinators hear that a patient moved."""
    patient, by = transfer.patient, transfer.by
    who = by.get_full_name() or by.username
    coordinators = User.objects.filter(
        role=Role.COORDINATOR, is_active=True, unit_id__in=[transfer.from_unit_id, transfer.to_unit_id]
    ).exclude(pk=by.pk)
    body = f"From {transfer.from_unit} to {transfer.to_unit}, by {who}: {transfer.reason}"
    seeing = Patient.objects.filter(pk=patient.pk)
    told, left_behind = [], []
    for coordinator in coordinators:
        (told if seeing.visible_to(coordinator).exists() else left_behind).append(coordinator.pk)
    _notify(told, title=f"Transfer: {_named(patient)}", body=body, link=f"/patients/{patient.pk}/", patient=patient)
    # The old unit's coordinators no longer see the patient: a notification naming them would be
    # hidden and retired unread. Theirs names the patient as an email does, and links nowhere
    # (the record now 404s for them).
    _notify(left_behind, title=f"Transfer: {patient_label(patient)}", body=body, link="", patient=None)


def on_hard_stop_failed(*, task, actor) -> None:
    """The checklists layer's hook: a hard stop failed and its event is blocked; the patient's
    oncologists hear it at once (or, with none on the team, the unit's coordinators)."""
    patient, event = task.patient, task.event
    who = actor.get_full_name() or actor.username
    # With its day and zone, as every reminder: a message is read later, maybe on another clock.
    when = moments.moment_zoned(event.planned_at, patient.unit.zone)
    _notify(
        hard_stop_recipients(patient, actor),
        title=f"Hard stop failed: {_named(patient)}",
        body=f"{task.text}: {task.value}, recorded by {who}. The {event.get_kind_display().lower()} of {when} "
        "is blocked until the answer is re-entered or the gate is overridden.",
        link=f"/events/{event.pk}/",
        patient=patient,
    )
