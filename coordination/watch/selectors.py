"""Reads for the toxicity watch: who is on call, gaps in the roster, open alerts."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts import moments
from accounts.models import Role, Unit, User
from patients.models import Assessment, HomeCheckIn, Patient, PumpEvent, Transfer
from patients.policy import Standing, can_record_assessment
from patients.selectors import names

from ..reminders.models import Notification
from .models import OnCallShift, ToxicityAlert, WatchUnitRule
from .policy import can_answer_calls

# Who must be on call, by the kind of unit: a ward or a clinic has an oncologist and a
# coordinator on call; a home agency a nurse who answers the caregivers.
ROLES_ON_CALL = {
    Unit.Kind.INPATIENT_WARD: (Role.ONCOLOGIST, Role.COORDINATOR),
    Unit.Kind.INFUSION_CLINIC: (Role.ONCOLOGIST, Role.COORDINATOR),
    Unit.Kind.HOME_HEALTH: (Role.NURSE,),
}
# How far ahead the board and the admins are warned of a roster with no first call.
ROSTER_LOOKAHEAD = dt.timedelta(days=7)


def on_call(unit: Unit, role: str, at: dt.datetime) -> list[OnCallShift]:
    """The shifts of `role` at `unit` that cover `at`, first call first."""
    return list(
        OnCallShift.objects.filter(unit=unit, role=role, starts_at__lte=at, ends_at__gt=at)
        .select_related("user__unit", "unit")  # can_answer_calls reads both
        .order_by("rank", "starts_at")
    )


def alerted_for(*, assessment: Assessment) -> bool:
    """Whether recording `assessment` alerted someone (on_watch_signal raised its alert): the
    patients layer's answer to the same assessment sent again (patients.hooks.watch_alerted)."""
    return ToxicityAlert.objects.filter(assessment_id=assessment.pk).exists()


def roster(unit: Unit, *, start: dt.datetime, end: dt.datetime) -> QuerySet[OnCallShift]:
    return (
        OnCallShift.objects.filter(unit=unit, ends_at__gt=start, starts_at__lt=end)
        .select_related("user__unit", "unit")  # can_answer_calls reads both
        .order_by("role", "rank", "starts_at")
    )


@dataclass(frozen=True)
class Gap:
    role: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None  # None: nobody until the end of the look-ahead

    def describe(self, zone) -> str:
        start = moments.moment_short(self.starts_at, zone)
        role = Role(self.role).label.lower()
        if self.ends_at is None:
            # Nobody rostered from then on ("to further notice" read as a notice someone had given).
            return f"No first-call {role} from {start} onwards: nobody is on the roster after that"
        return f"No first-call {role} from {start} to {moments.moment_short(self.ends_at, zone)}"


def first_call_gaps(unit: Unit, *, now: dt.datetime, ahead: dt.timedelta = ROSTER_LOOKAHEAD, shifts=None) -> list[Gap]:
    """The stretches of the coming days with no one on first call for a role the unit needs
    (given `shifts`, those instead of the stored ones: a roster being checked before saving)."""
    end = now + ahead
    if shifts is None:
        shifts = list(roster(unit, start=now, end=end).filter(rank=1))
    gaps = []
    for role in ROLES_ON_CALL[unit.kind]:
        covered_until = now
        # A shift covers only if its holder can answer: still active, still in that role.
        answering = (s for s in shifts if s.role == role and s.rank == 1 and can_answer_calls(s))
        for shift in sorted(answering, key=lambda s: s.starts_at):
            if shift.starts_at > covered_until:
                gaps.append(Gap(role, covered_until, shift.starts_at))
            covered_until = max(covered_until, shift.ends_at)
        if covered_until < end:
            gaps.append(Gap(role, covered_until, None))
    return gaps


def unit_watch_warnings(unit: Unit, *, now: dt.datetime | None = None) -> list[str]:
    """What the board and the admins must see: no coordinator at all, or no one on call."""
    now = now or timezone.now()
    warnings = []
    if not User.objects.filter(unit=unit, role=Role.COORDINATOR, is_active=True).exists():
        warnings.append(
            f"{unit} has no coordinator: overdue tasks escalate to the oncologists of each care team "
            "(else the whole team), and alerts reach no coordinator."
        )
    warnings += [f"{unit}: {gap.describe(unit.zone)}." for gap in first_call_gaps(unit, now=now)]
    return warnings


def alerts_for(user, *, recent: dt.timedelta = dt.timedelta(days=7)) -> list[ToxicityAlert]:
    """The alerts of the user's patients: the open ones first (oldest first), then those of the
    last days, newest first."""
    patients = Patient.objects.visible_to(user)
    base = ToxicityAlert.objects.filter(patient__in=patients).select_related(
        "patient__unit", "unit", "acknowledged_by", "raised_by"
    )
    since = timezone.now() - recent
    return [
        *base.filter(acknowledged_at__isnull=True).order_by("raised_at"),
        *base.filter(acknowledged_at__isnull=False, raised_at__gte=since).order_by("-raised_at"),
    ]


def crs_alert_rules(units) -> list[WatchUnitRule]:
    """The rule of each unit (its own or the default), by unit name: which CRS grade raises an alert
    there, for the pages that say so."""
    units = sorted({unit for unit in units if unit is not None}, key=lambda unit: (unit.name, unit.pk))
    kept = {rule.unit_id: rule for rule in WatchUnitRule.objects.filter(unit__in=units)}
    return [kept.get(unit.pk) or WatchUnitRule(unit=unit) for unit in units]


def unit_open_alerts(unit_id: int) -> list[ToxicityAlert]:
    """The alerts routed by a unit's roster that nobody has acknowledged yet, oldest first."""
    return list(
        ToxicityAlert.objects.filter(unit_id=unit_id, acknowledged_at__isnull=True)
        .select_related("patient")
        .order_by("raised_at")
    )


def alert_transfers(alert: ToxicityAlert) -> list[Transfer]:
    """The transfers of the patient while the alert was open: it moved with each of them
    (`services.alerts_follow_transfer`), oldest first."""
    transfers = Transfer.objects.filter(patient_id=alert.patient_id, at__gte=alert.raised_at)
    if alert.acknowledged_at:
        transfers = transfers.filter(at__lte=alert.acknowledged_at)
    return list(transfers.select_related("from_unit", "to_unit", "by").order_by("at", "pk"))


def alert_recipients(alert: ToxicityAlert) -> list[User]:
    """Whom the alert went to, in the order it reached them (the reminder ledger)."""
    ids = alert.reminders.order_by("created_at", "pk").values_list("recipient_id", flat=True)
    users = User.objects.in_bulk(set(ids))
    return [users[pk] for pk in dict.fromkeys(ids)]


def alert_notifications(alert: ToxicityAlert) -> QuerySet[Notification]:
    """The bell notifications that the alert rang: delivery writes one for each reminder of it
    (the alert and its escalations, coordination/reminders/delivery.py), to the reminder's
    recipient, linking to the alert's page (reminders/content.py). Found by both: a notification
    of another alert, or to someone it never reached, is never among them."""
    return Notification.objects.filter(
        recipient__in=alert.reminders.values("recipient_id"), link=reverse("alert_detail", args=[alert.pk])
    )


@dataclass(frozen=True)
class PatientWatch:
    """What the patient page shows of the toxicity watch."""

    open_alerts: list[ToxicityAlert]
    latest_assessment: Assessment | None
    latest_check_in: HomeCheckIn | None
    pump_events: list[PumpEvent]
    can_record: bool


def patient_watch(user, patient: Patient, *, standing: Standing | None = None) -> PatientWatch:
    # The columns the page prints (patients/partials/toxicity_summary.html).
    assessments = Assessment.objects.select_related("confirmed_by").only(
        *("assessed_at", "crs_grade", "confirmed_crs_grade", "icans_grade", "confirmed_icans_grade"),
        *("confirmed_at", *names("confirmed_by")),
    )
    return PatientWatch(
        open_alerts=list(
            ToxicityAlert.objects.filter(patient=patient, acknowledged_at__isnull=True)
            .only("reason", "raised_at", "ask")
            .order_by("raised_at")
        ),
        latest_assessment=assessments.filter(patient=patient).order_by("-assessed_at").first(),
        latest_check_in=HomeCheckIn.objects.filter(patient=patient)
        .only("checked_at", "temperature_celsius", "pump_status", "red_flags")
        .order_by("-checked_at")
        .first(),
        pump_events=list(
            PumpEvent.objects.filter(patient=patient)
            .only("occurred_at", "kind", "out_of_hours")
            .order_by("-occurred_at")[:5]
        ),
        can_record=bool(can_record_assessment(user, patient, standing=standing)),
    )
