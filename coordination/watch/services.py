"""Domain operations of the toxicity watch: keep the on-call roster; raise, acknowledge and
escalate urgent alerts."""

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts import moments
from accounts.models import Role, Unit, User
from checklists import policy as checklist_policy
from checklists.models import Task, TemplateItem
from checklists.recorded import ASSESSMENT_TASK_WINDOW, assessment_answer
from checklists.services import TaskConflict, task_complete
from patients.grading import Seizure
from patients.models import (
    AccessGrant,
    Assessment,
    CareTeamMember,
    HomeCheckIn,
    Interruption,
    Patient,
    RegimenVersion,
    Transfer,
)
from patients.selectors import other_seizure_in_course
from patients.services import access_grant_close, access_grant_open, neurotoxicity_stops_for_good
from patients.warning_signs import SEIZURE

from ..reminders.models import Reminder
from ..reminders.sweep import dispatch
from . import policy
from .models import OnCallShift, ToxicityAlert, WatchUnitRule
from .selectors import ROLES_ON_CALL, alert_notifications, on_call

MAX_ROSTER_PERIOD = dt.timedelta(days=35)


@dataclass(frozen=True)
class ShiftInput:
    user: object
    starts_at: dt.datetime
    ends_at: dt.datetime


def _roster_errors(*, unit, role, rank, start, end, shifts: list[ShiftInput]) -> dict[str, str]:
    """Each problem at its row's field ("<row>-<field>"), or the period's."""
    errors: dict[str, str] = {}
    if role not in ROLES_ON_CALL.get(unit.kind, ()):
        # Nobody would ever be called: a ward's alerts go to its oncologists and coordinators, an
        # agency's caregivers call its nurse (selectors.ROLES_ON_CALL).
        on_call_here = " and ".join(Role(name).label.lower() + "s" for name in ROLES_ON_CALL.get(unit.kind, ()))
        return {"role": f"{unit.get_kind_display()} rosters call {on_call_here or 'nobody'}; choose one of them."}
    if end <= start:
        return {"period_end": "The period ends after it starts."}
    if end - start > MAX_ROSTER_PERIOD:
        return {"period_end": f"Set at most {MAX_ROSTER_PERIOD.days} days at a time."}
    zone = unit.zone
    for row, shift in enumerate(shifts):
        if not (eligible := policy.can_be_on_call(shift.user, unit, role)):
            errors[f"{row}-user"] = eligible.reason
        if shift.ends_at <= shift.starts_at:
            errors[f"{row}-ends_at"] = "A shift ends after it starts."
        elif shift.starts_at < start or shift.ends_at > end:
            errors[f"{row}-starts_at"] = (
                f"Keep the shift inside the period ({moments.moment_short(start, zone)} to "
                f"{moments.moment_short(end, zone)})."
            )
    ordered = sorted(range(len(shifts)), key=lambda row: shifts[row].starts_at)
    for before, after in pairwise(ordered):
        if shifts[after].starts_at < shifts[before].ends_at:
            errors.setdefault(
                f"{after}-starts_at",
                f"Overlaps {shifts[before].user}'s shift, which ends "
                f"{moments.moment_short(shifts[before].ends_at, zone)}.",
            )
    if rank == 1 and not errors:
        # First call is never missing: the shifts cover the whole period, hour by hour.
        covered_until = start
        for row in ordered:
            if shifts[row].starts_at > covered_until:
                errors[f"{row}-starts_at"] = (
                    f"No one is on call from {moments.moment_short(covered_until, zone)} to "
                    f"{moments.moment_short(shifts[row].starts_at, zone)}."
                )
            covered_until = max(covered_until, shifts[row].ends_at)
        if covered_until < end:
            errors["period_end"] = (
                f"No one is on call from {moments.moment_short(covered_until, zone)} to "
                f"{moments.moment_short(end, zone)}."
            )
    return errors


@transaction.atomic
def roster_replace(
    *,
    unit: Unit,
    role: str,
    rank: int,
    period_start: dt.datetime,
    period_end: dt.datetime,
    shifts: list[ShiftInput],
    actor,
) -> list[OnCallShift]:
    """Set who is on call for `role` at `rank` over the period: the shifts given replace those
    inside it (a shift across an edge of the period is cut there). First call must cover the
    whole period; no two shifts of one rank overlap. Refusals name the row and field."""
    policy.can_edit_roster(actor, unit).enforce()
    errors = _roster_errors(unit=unit, role=role, rank=rank, start=period_start, end=period_end, shifts=shifts)
    if errors:
        raise ValidationError(errors)
    Unit.objects.select_for_update(no_key=True).get(pk=unit.pk)  # one roster change of a unit at a time
    same = OnCallShift.objects.filter(unit=unit, role=role, rank=rank)
    same.filter(starts_at__gte=period_start, ends_at__lte=period_end).delete()
    for straddling in same.filter(starts_at__lt=period_end, ends_at__gt=period_start):
        if straddling.starts_at < period_start and straddling.ends_at > period_end:
            OnCallShift.objects.create(
                unit=unit,
                role=role,
                rank=rank,
                user=straddling.user,
                starts_at=period_end,
                ends_at=straddling.ends_at,
                created_by=actor,
            )
        if straddling.starts_at < period_start:
            straddling.ends_at = period_start
            straddling.save(update_fields=["ends_at"])
        else:
            straddling.starts_at = period_end
            straddling.save(update_fields=["starts_at"])
    return OnCallShift.objects.bulk_create(
        OnCallShift(
            unit=unit,
            role=role,
            rank=rank,
            user=shift.user,
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
            created_by=actor,
        )
        for shift in shifts
    )


# --- urgent alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    """What an assessment or a home check sets off: the words, what the oncologist is asked, and the
    grades it alerts for (CRS only from the unit's alert grade; 0 for a home check)."""

    reason: str
    ask: str = ToxicityAlert.Ask.NOTHING
    crs: int = 0
    icans: int = 0

    def calls_for_more_than(self, alert: ToxicityAlert) -> bool:
        """A higher grade than the alert is for, or a stronger ask."""
        return (
            self.crs > alert.crs_grade
            or self.icans > alert.icans_grade
            or ASKS_BY_STRENGTH.index(self.ask) > ASKS_BY_STRENGTH.index(alert.ask)
        )


ASKS_BY_STRENGTH = [ToxicityAlert.Ask.NOTHING, ToxicityAlert.Ask.INTERRUPTION, ToxicityAlert.Ask.STOP_FOR_GOOD]


def signal_of(*, assessment: Assessment | None = None, check_in: HomeCheckIn | None = None) -> Signal | None:
    """CRS from the unit's alert grade (`WatchUnitRule`, grade 2 unless it says otherwise), any
    ICANS, or a seizure; grade 3 asks for an interruption, grade 4 or a second seizure in the
    course (seen at an assessment or reported at a home check: `other_seizure_in_course`) for a
    stop for good, and so does ICANS grade 3 at the low dose or recurring, with the reason why
    (CLINICAL.md: the label stops those for good); a home check's red flags, where a seizure asks as
    an ICANS grade 3 does (ASTCT: a seizure is grade 3 at least). None: no alert."""
    if check_in is not None:
        if not check_in.red_flags:
            return None
        reason = f"Home check red flags: {', '.join(check_in.red_flags)}"
        if SEIZURE not in check_in.signs:
            return Signal(reason)
        # A seizure the caregiver reports is a seizure: a second one in the course stops for good.
        if other_seizure_in_course(
            patient_id=check_in.patient_id, course_id=check_in.course_id, check_in_id=check_in.pk
        ):
            return Signal(f"{reason}; a second seizure", ToxicityAlert.Ask.STOP_FOR_GOOD)
        # A first one is ICANS grade 3 at least (ASTCT): held, as one seen at an assessment, and
        # stopped for good at the low dose or when it recurs (the label, as for the restart).
        why_stop = check_in.course_id and neurotoxicity_stops_for_good(
            course=check_in.course, moment=check_in.checked_at
        )
        if why_stop:
            return Signal(
                f"{reason}; ICANS grade 3 or more{why_stop}: the label says stop for good",
                ToxicityAlert.Ask.STOP_FOR_GOOD,
            )
        return Signal(reason, ToxicityAlert.Ask.INTERRUPTION)
    findings = []
    crs_alerts = assessment.crs >= WatchUnitRule.for_unit(assessment.patient.unit).alert_from_crs_grade
    if crs_alerts:
        findings.append(f"CRS grade {assessment.crs}")
    # The same words as the refusal of a restart after a grade 3 neurological break.
    why_stop = (
        neurotoxicity_stops_for_good(course=assessment.course, moment=assessment.assessed_at)
        if assessment.icans == 3 and assessment.course_id
        else None
    )
    if assessment.icans >= 1 and not why_stop:
        findings.append(f"ICANS grade {assessment.icans}")
    seizure = assessment.seizure != Seizure.NONE
    second_seizure = seizure and other_seizure_in_course(
        patient_id=assessment.patient_id, course_id=assessment.course_id, assessment_id=assessment.pk
    )
    if seizure:
        findings.append("a second seizure" if second_seizure else "a seizure")
    if why_stop:  # last, so that the label's word closes the reason
        findings.append(f"ICANS grade 3{why_stop}: the label says stop for good")
    if not findings:
        return None
    worst = max(assessment.crs, assessment.icans)
    if _grade_stops_for_good(assessment) or second_seizure or why_stop:
        ask = ToxicityAlert.Ask.STOP_FOR_GOOD
    elif worst >= 3:
        ask = ToxicityAlert.Ask.INTERRUPTION
    else:
        ask = ToxicityAlert.Ask.NOTHING
    reason = " and ".join(findings)
    return Signal(reason[:1].upper() + reason[1:], ask, crs=assessment.crs if crs_alerts else 0, icans=assessment.icans)


def _grade_stops_for_good(assessment: Assessment) -> bool:
    """CRS or ICANS at a grade from which the course's regimen version stops it for good (the
    label: grade 4 of either; CLINICAL.md), as a restart after it is refused
    (patients.services.interruptions). Outside a course, a regimen version's defaults: the label's."""
    version = assessment.course.regimen_version if assessment.course_id else RegimenVersion()
    return any(
        (from_grade := version.stops_for_good_from_grade(kind)) is not None and grade >= from_grade
        for kind, grade in ((Interruption.ToxicityKind.CRS, assessment.crs),
                            (Interruption.ToxicityKind.NEUROLOGICAL, assessment.icans))
    )  # fmt: skip


def on_watch_signal(*, patient, actor, assessment=None, check_in=None) -> bool:
    """The patients layer's watch hook: a recorded assessment completes the assessment task it
    answers; what calls for it raises an alert (a confirmation follows `_on_confirmed`). True when
    it alerted someone."""
    if assessment is not None and assessment.is_confirmed:
        return _on_confirmed(assessment, actor)
    if assessment is not None:
        _complete_assessment_tasks(assessment, actor)
    signal = signal_of(assessment=assessment, check_in=check_in)
    if signal is None:
        return False
    # The alert is raised when what set it off was recorded.
    at = assessment.recorded_at if assessment else check_in.recorded_at
    alert_raise(patient=patient, signal=signal, actor=actor, assessment=assessment, now=at)
    return True


def _on_confirmed(assessment: Assessment, actor) -> bool:
    """The oncologist confirmed grades other than those that counted. The assessment's open alert
    follows them (`_alert_follow_grades`), or is taken when they call for none. With no alert open,
    a new one only for more than its last alert was for (a higher grade, a stronger ask): a grade
    lowered after the alert was taken pages nobody again for what someone has already answered."""
    signal = signal_of(assessment=assessment)
    alerts = (
        ToxicityAlert.objects.select_for_update(no_key=True).filter(assessment=assessment).order_by("-raised_at", "-pk")
    )
    open_alert = alerts.filter(acknowledged_at=None).first()
    if open_alert is not None and signal is None:
        # Confirmed below what calls for an alert: the oncologist who reviewed the assessment
        # has taken it; left open, it would go on down the roster asking for what they ruled out.
        _taken_on_confirming(open_alert, assessment, actor)
        return False
    if open_alert is not None:
        _alert_follow_grades(open_alert, signal, actor, now=assessment.confirmed_at)
        return True
    last = alerts.first()
    if signal is None or (last is not None and not signal.calls_for_more_than(last)):
        return False
    alert_raise(
        patient=assessment.patient, signal=signal, actor=actor, assessment=assessment, now=assessment.confirmed_at
    )
    return True


def _alert_follow_grades(alert: ToxicityAlert, signal: Signal, actor, *, now: dt.datetime) -> None:
    """An open alert whose assessment's grades were confirmed otherwise says what they call for. For
    more (grade 4 where it said grade 2, "stop for good" where it said "assess and decide"), whoever it
    reached and still sees the patient is told again, and their minutes to acknowledge start again:
    they may have read the first words and be on their way for less."""
    more = signal.calls_for_more_than(alert)
    alert.reason, alert.ask = signal.reason[:300], signal.ask
    alert.crs_grade, alert.icans_grade = signal.crs, signal.icans
    if not more:
        alert.save(update_fields=["reason", "ask", "crs_grade", "icans_grade"])
        return
    unit_minutes = WatchUnitRule.for_unit(alert.unit).acknowledge_within
    alert.escalate_at = _look_again_at(alert.unit, now) if alert.no_one_on_call else now + unit_minutes
    alert.save(update_fields=["reason", "ask", "crs_grade", "icans_grade", "escalate_at"])
    # Not the oncologist who raised the grade: they know it. Nor one sent it at this very moment
    # (raised and confirmed at once), whose reminder is the same one and goes out with these words.
    sent_now = alert.reminders.filter(kind=Reminder.Kind.TOXICITY_ALERT, due_at=now).values("recipient_id")
    reached = (
        User.objects.filter(pk__in=alert.reminders.values("recipient_id")).exclude(pk=actor.pk).exclude(pk__in=sent_now)
    )
    recipients = [user.pk for user in reached.order_by("pk") if policy.sees_alerts_of(user, alert.patient)]
    if recipients:
        _send(alert, kind=Reminder.Kind.TOXICITY_ALERT, recipients=recipients, due_at=now, now=now)


def _taken_on_confirming(alert: ToxicityAlert, assessment: Assessment, actor) -> None:
    """The open alert of an assessment whose grades the oncologist confirmed below the unit's rule:
    acknowledged in their name, the confirmed grades and their reason as its note. One who may not
    acknowledge it leaves it open, asking nothing more than an assessment."""
    note = f"Grades confirmed as CRS {assessment.crs}, ICANS {assessment.icans}"
    if assessment.confirm_reason:
        note += f": {assessment.confirm_reason}"
    sent_to = alert.reminders.filter(recipient_id=actor.pk).exists()
    if policy.can_acknowledge(actor, alert, sent_to=sent_to):
        alert_acknowledge(alert=alert, actor=actor, note=note, now=assessment.confirmed_at)
    else:
        alert.reason, alert.ask = f"{alert.reason}; {note}"[:300], ToxicityAlert.Ask.NOTHING
        alert.save(update_fields=["reason", "ask"])


def _complete_assessment_tasks(assessment: Assessment, actor) -> None:
    """The open assessment tasks this assessment answers (its event's, else those of the one due
    time nearest to it within the window) are done, in the name of who assessed; tasks they may
    not do stay open."""
    tasks = Task.objects.filter(
        patient_id=assessment.patient_id, records=TemplateItem.Records.TOXICITY_ASSESSMENT, status=Task.Status.OPEN
    )
    if assessment.event_id:
        tasks = list(tasks.filter(event_id=assessment.event_id))
    else:
        at = assessment.assessed_at
        tasks = list(tasks.filter(due_at__gte=at - ASSESSMENT_TASK_WINDOW, due_at__lte=at + ASSESSMENT_TASK_WINDOW))
        # One assessment is one round of the watch: it answers the check due nearest to it (the
        # earlier on a tie, a late one), never the next round too, which the window can reach
        # when the regimen's interval is short or the check was late. Checks due at that very
        # time (a bag change's beside the ward's round) are the same round.
        if tasks:
            nearest = min((abs(task.due_at - at), task.due_at) for task in tasks)[1]
            tasks = [task for task in tasks if task.due_at == nearest]
    for task in tasks:
        if not checklist_policy.can_complete(actor, task):
            continue
        try:
            with transaction.atomic():  # a task that cannot be done yet stays open; the assessment stands
                task_complete(task=task, actor=actor, value=assessment_answer(assessment), now=assessment.recorded_at)
        except (ValidationError, PermissionDenied, TaskConflict):
            continue


def _first_callers(unit: Unit, at: dt.datetime) -> tuple[list[int], list[int]]:
    """The oncologists on call in call order, and the coordinators to tell (those on call, else
    every coordinator of the unit)."""
    answering = policy.can_answer_calls
    oncologists = [shift.user_id for shift in on_call(unit, Role.ONCOLOGIST, at) if answering(shift)]
    coordinators = [shift.user_id for shift in on_call(unit, Role.COORDINATOR, at) if answering(shift)][:1]
    if not coordinators:
        coordinators = list(
            User.objects.filter(unit=unit, role=Role.COORDINATOR, is_active=True).values_list("pk", flat=True)
        )
    return list(dict.fromkeys(oncologists)), coordinators


def _fallback(alert: ToxicityAlert) -> list[int]:
    """No one (left) on the roster: the unit's coordinators and the patient's oncologists; with
    neither, the whole care team, so that an urgent alert always reaches somebody."""
    coordinators = User.objects.filter(unit=alert.unit, role=Role.COORDINATOR, is_active=True)
    team = CareTeamMember.objects.filter(patient=alert.patient).who_count()
    oncologists = team.filter(role=Role.ONCOLOGIST).values_list("user_id", flat=True)
    chosen = list(dict.fromkeys([*coordinators.values_list("pk", flat=True), *oncologists]))
    return chosen or list(dict.fromkeys(team.values_list("user_id", flat=True)))


# Whoever took an alert through an on-call grant (not on the patient's care team) sees the patient
# this long after taking it, to follow it up; the others it reached lose the grant when it is taken.
ON_CALL_FOLLOW_UP = dt.timedelta(hours=24)


def _let_see(alert: ToxicityAlert, recipients: list[int], now: dt.datetime) -> None:
    """Whoever the alert reaches must be able to open it while it is open: a person grant, open-ended
    until the alert is taken (`_end_on_call_access`), for those who would not see the patient
    otherwise (the on-call oncologist of another team). One who holds such a grant already, for
    another open alert of the patient, shares it: it ends when the last of them is taken."""
    open_ended = AccessGrant.objects.filter(
        patient_id=alert.patient_id, user_id__in=recipients, revoked_at__isnull=True, ends_at__isnull=True
    ).filter(starts_at__lte=now)
    alerts_grants = ToxicityAlert.access_grants.through.objects.values("accessgrant_id")
    # Locked, in one order, as `_end_on_call_access` locks them before it decides: a grant that an
    # acknowledgement is ending meanwhile is read once it has (then no longer open-ended: a new one
    # is opened), and one shared here is seen as needed by the acknowledgement that waits for it.
    shared = list(open_ended.filter(pk__in=alerts_grants).select_for_update(no_key=True).order_by("pk"))
    # Someone who sees the patient by an open-ended grant of another kind needs none of the alert's.
    covered = {grant.user_id for grant in shared} | set(open_ended.values_list("user_id", flat=True))
    grants = shared
    for user in User.objects.filter(pk__in=recipients).exclude(pk__in=covered):
        # Seen without grants (the care team, the unit's coordinator), nothing to open; one who sees
        # the patient only through a grant that ends (another alert's follow-up) gets the alert's own.
        if not Patient.objects.visible_to(user, grants=False).filter(pk=alert.patient_id).exists():
            grants.append(
                access_grant_open(patient=alert.patient, user=user, reason=f"On call: urgent alert {alert.pk}", now=now)
            )
    alert.access_grants.add(*grants)


def _end_on_call_access(alert: ToxicityAlert, *, now: dt.datetime) -> None:
    """The alert is taken: its grants end, ON_CALL_FOLLOW_UP later for whoever took it, at once for
    the others, unless another open alert of the patient still needs the grant. A grant kept open
    by another alert keeps, when that one is taken, the day of whoever took an earlier one of its
    alerts (counted from when they took it), rather than ending at once."""
    # The grants are locked before the other alerts are read: two alerts of the patient taken at once
    # (or one raised that shares the grant) decide one after the other, each seeing what the other
    # committed, rather than each leaving the grant to the other, open for good.
    grants = list(
        AccessGrant.objects.select_for_update(no_key=True)
        .filter(pk__in=alert.access_grants.values("pk"), revoked_at__isnull=True)
        .order_by("pk")
    )
    needed = set(
        ToxicityAlert.access_grants.through.objects.filter(
            accessgrant__in=[grant.pk for grant in grants], toxicityalert__acknowledged_at__isnull=True
        )
        .exclude(toxicityalert=alert)
        .values_list("accessgrant_id", flat=True)
    )
    for grant in (grant for grant in grants if grant.pk not in needed):
        taken = ToxicityAlert.objects.filter(access_grants=grant, acknowledged_by_id=grant.user_id)
        taken_at = taken.aggregate(last=Max("acknowledged_at"))["last"]
        follow_up = taken_at + ON_CALL_FOLLOW_UP if taken_at and taken_at + ON_CALL_FOLLOW_UP > now else None
        access_grant_close(grant=grant, ends_at=follow_up, now=now)


def _send(alert: ToxicityAlert, *, kind: str, recipients: list[int], due_at: dt.datetime, now: dt.datetime) -> None:
    """Write the alert's reminders to the ledger and hand them to delivery after the commit:
    the ledger sends each once, through crashes, by email and the bell."""
    _let_see(alert, recipients, now)
    redispatch_at = now + dt.timedelta(seconds=settings.REMINDER_REDISPATCH_SECONDS)
    written = Reminder.objects.bulk_create(
        Reminder(
            kind=kind,
            target=f"alert:{alert.pk}",
            recipient_id=recipient,
            alert=alert,
            due_at=due_at,
            fire_at=now,
            created_at=now,
            dispatch_after=redispatch_at,
            dispatch_count=1,
        )
        for recipient in dict.fromkeys(recipients)
    )
    dispatch([reminder.pk for reminder in written])


@transaction.atomic
def alert_raise(
    *,
    patient: Patient,
    signal: Signal,
    actor,
    assessment: Assessment | None = None,
    now: dt.datetime | None = None,
) -> ToxicityAlert:
    """An urgent alert to the first-call oncologist on the patient's unit's roster and its
    coordinator; unacknowledged after the unit's minutes, it goes down the roster."""
    now = now or timezone.now()
    unit = patient.unit
    alert = ToxicityAlert.objects.create(
        patient=patient,
        unit=unit,
        assessment=assessment,
        reason=signal.reason[:300],
        ask=signal.ask,
        crs_grade=signal.crs,
        icans_grade=signal.icans,
        raised_at=now,
        raised_by=actor,
    )
    oncologists, coordinators = _first_callers(unit, now)
    recipients = oncologists[:1] + coordinators
    if oncologists:
        alert.escalate_at = now + WatchUnitRule.for_unit(unit).acknowledge_within
    else:
        alert.no_one_on_call = True
        recipients += _fallback(alert)
        alert.escalate_at = _look_again_at(unit, now)
    alert.save(update_fields=["escalate_at", "no_one_on_call"])
    _send(alert, kind=Reminder.Kind.TOXICITY_ALERT, recipients=recipients, due_at=now, now=now)
    return alert


@transaction.atomic
def alert_acknowledge(*, alert: ToxicityAlert, actor, note: str = "", now: dt.datetime | None = None) -> ToxicityAlert:
    """Whoever takes it answers for it: the pending reminders of it are skipped at delivery, and
    the bell notifications it rang are marked read, for everyone it reached (the bell no longer
    counts an alert that someone took)."""
    alert = (
        ToxicityAlert.objects.select_for_update(no_key=True, of=("self",))
        .select_related("patient", "acknowledged_by")
        .get(pk=alert.pk)
    )
    # Lock the alert's reminders: a delivery ringing the bell for one of them right now holds
    # its row until it commits, so we wait for its notification and mark it read below; a
    # delivery that comes after passes over the locked rows (skip_locked) and, handed them again
    # later, finds the alert acknowledged and skips them. Either way no bell is left unread.
    recipients = set(alert.reminders.select_for_update(no_key=True).values_list("recipient_id", flat=True))
    policy.can_acknowledge(actor, alert, sent_to=actor.pk in recipients).enforce()
    alert.acknowledged_at = now or timezone.now()
    alert.acknowledged_by = actor
    alert.acknowledge_note = note.strip()[:500]
    alert.escalate_at = None
    alert.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledge_note", "escalate_at"])
    alert_notifications(alert).filter(read_at__isnull=True).update(read_at=alert.acknowledged_at)
    _end_on_call_access(alert, now=alert.acknowledged_at)
    return alert


@transaction.atomic
def alerts_follow_transfer(*, transfer: Transfer) -> list[int]:
    """The patients layer's transfer hook, in the transfer's transaction: the patient's open alerts
    move with them to the new unit's board and roster. The new unit's first call and coordinator
    hear them now (whom an alert reached already hears nothing twice) and its minutes to
    acknowledge start again; those it reached who no longer see the patient (the old unit's
    coordinator) have it taken off their bell, since its page no longer opens for them. The alert's
    page lists the transfers it went through (`selectors.alert_transfers`)."""
    now = transfer.at
    moved = []
    alerts = ToxicityAlert.objects.select_for_update(no_key=True).filter(
        patient_id=transfer.patient_id, acknowledged_at=None
    )
    for alert in alerts.select_related("patient"):
        alert.unit = transfer.to_unit
        reached = set(alert.reminders.values_list("recipient_id", flat=True))
        oncologists, coordinators = _first_callers(alert.unit, now)
        recipients = oncologists[:1] + coordinators
        alert.no_one_on_call = not oncologists
        if oncologists:
            alert.escalate_at = now + WatchUnitRule.for_unit(alert.unit).acknowledge_within
        else:
            recipients += _fallback(alert)
            alert.escalate_at = _look_again_at(alert.unit, now)
        alert.save(update_fields=["unit", "escalate_at", "no_one_on_call"])
        if new := [user for user in recipients if user not in reached]:
            _send(alert, kind=Reminder.Kind.TOXICITY_ALERT, recipients=new, due_at=now, now=now)
        gone = [
            user.pk for user in User.objects.filter(pk__in=reached) if not policy.sees_alerts_of(user, alert.patient)
        ]
        alert_notifications(alert).filter(recipient__in=gone, read_at__isnull=True).update(read_at=now)
        moved.append(alert.pk)
    return moved


def alerts_escalate(*, now: dt.datetime | None = None) -> list[int]:
    """Every minute (beat): each open alert past its time goes to the next oncologist on the
    roster now; with no one left, to the unit's coordinators and the patient's oncologists, and
    later to an oncologist who comes on call (`_escalate`)."""
    now = now or timezone.now()
    escalated = []
    with transaction.atomic():
        # The alerts' rows alone: locking their unit's and patient's too skipped an alert whose
        # patient was being changed that minute, and held the unit's roster edits meanwhile.
        due = (
            ToxicityAlert.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(acknowledged_at__isnull=True, escalate_at__lte=now)
            .select_related("unit", "patient")
            .order_by("escalate_at")
        )
        for alert in due:
            _escalate(alert, now)
            escalated.append(alert.pk)
    return escalated


def _look_again_at(unit: Unit, now: dt.datetime) -> dt.datetime:
    """When an open alert that everyone on call has (or that found no one on call) is looked at
    again: as the next oncologist's shift at the unit starts, and at the latest after the unit's
    minutes (a roster entered meanwhile). An unacknowledged urgent alert must reach the oncologist
    who comes on call, however long it has waited."""
    later = now + WatchUnitRule.for_unit(unit).acknowledge_within
    next_start = (
        OnCallShift.objects.filter(unit=unit, role=Role.ONCOLOGIST, starts_at__gt=now, starts_at__lt=later)
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
    return next_start or later


def _escalate(alert: ToxicityAlert, now: dt.datetime) -> None:
    """To the first oncologist on call now, in call order, whom the alert has not reached yet: the
    roster may have changed hands since it was raised (a night first call becomes the day's second),
    and a place in the call order is not a person. With no one left, once to the unit's coordinators
    and the patient's oncologists; then the sweep keeps watching the roster for an oncologist who
    comes on call, so nobody hears the same escalation twice."""
    due_at = alert.escalate_at
    oncologists, _ = _first_callers(alert.unit, now)
    reached = set(alert.reminders.values_list("recipient_id", flat=True))
    not_yet = [oncologist for oncologist in oncologists if oncologist not in reached]
    if not_yet:
        recipients = not_yet[:1]
        alert.escalate_at = now + WatchUnitRule.for_unit(alert.unit).acknowledge_within
    else:
        # The fallback hears once that the roster is spent (or heard at the raise, with no one on
        # call then); after that only an oncologist who comes on call is new.
        recipients = [] if alert.no_one_on_call else _fallback(alert)
        alert.no_one_on_call = True
        alert.escalate_at = _look_again_at(alert.unit, now)
    if recipients:  # a look that finds no one new is not an escalation
        alert.level += 1
        _send(alert, kind=Reminder.Kind.TOXICITY_ESCALATION, recipients=recipients, due_at=due_at, now=now)
    alert.save(update_fields=["level", "escalate_at", "no_one_on_call"])
