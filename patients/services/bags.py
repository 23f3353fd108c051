"""Bags as records: what the pharmacy prepared for an event, checked against the bag options'
data (rates and preservative weight limits naming their source) and today's weighing."""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from accounts import moments
from accounts.audit import audited

from .. import policy
from ..hooks import notify_bag_recorded
from ..models import BagOption, CareEvent, InfusionBag, Interruption, Weighing
from ..models.record import PatientAuditAction
from ..weights import weight_shown
from .repeats import repeat_of
from .schedule import low_dose_at
from .weighings import latest_weighing

# The events at which a new bag is hung (a step-up or re-escalation changes the dose: a new bag).
BAG_EVENTS = (
    CareEvent.Kind.CYCLE_START,
    CareEvent.Kind.DOSE_STEP_UP,
    CareEvent.Kind.BAG_CHANGE,
    CareEvent.Kind.RESTART,
)


def bag_option_for_hours(hours, field: str = "bag_hours") -> BagOption:
    """The active bag option of this length; else a message at `field` naming those offered."""
    option = BagOption.objects.filter(duration_hours=hours, active=True).first()
    if option is None:
        offered = ", ".join(o.duration_label for o in BagOption.objects.filter(active=True))
        raise ValidationError({field: f"No {hours} h bag is offered; the pharmacy prepares {offered}."})
    return option


def _positive(raw, field: str, label: str) -> Decimal:
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        raise ValidationError({field: f"Give the {label} as a number."}) from None
    if not number.is_finite() or number <= 0:
        raise ValidationError({field: f"The {label} must be more than 0."})
    return number


def next_change_after(event: CareEvent) -> CareEvent | None:
    """The event at which this event's bag comes down: the next bag change, restart or cycle end."""
    return (
        CareEvent.objects.filter(
            cycle__course_id=event.cycle.course_id,
            kind__in=[
                CareEvent.Kind.DOSE_STEP_UP,
                CareEvent.Kind.BAG_CHANGE,
                CareEvent.Kind.RESTART,
                CareEvent.Kind.CYCLE_END,
            ],
            planned_at__gt=event.planned_at,
        )
        .exclude(status=CareEvent.Status.CANCELLED)
        .order_by("planned_at")
        .first()
    )


def weighing_warning(weighing: Weighing | None, event: CareEvent, now: dt.datetime | None = None) -> str:
    """Said beside the bag and the dose band when the weight is not today's (the unit's day): the
    dose band and a bag's weight limit are read from today's weighing (CLINICAL.md), and a bag is
    not recorded without one (infusion_bag_record)."""
    if weighing is None:
        # The record's weight was typed with the record (registration): it is not a weighing of today.
        patient = event.patient
        entered_on = moments.day(patient.weight_measured_on)
        return (
            f"The record's weight ({weight_shown(patient.weight_kg)}, {entered_on}) was entered "
            "with the record, not weighed here: weigh the patient today before the bag is prepared."
        )
    zone = event.patient.unit.zone
    measured_on = timezone.localtime(weighing.measured_at, zone).date()
    today = timezone.localtime(now or timezone.now(), zone).date()
    if measured_on < today:
        return (
            f"The newest weighing ({weight_shown(weighing.weight_kg)}) is from {moments.day(measured_on)}, not today: "
            "weigh the patient before the bag is prepared (the dose band and the bag's weight limit are read "
            "from today's weighing)."
        )
    return ""


def _basis_for_weight(dose_basis: str, weighing: Weighing, version) -> str:
    """Why this basis of the dose is wrong for today's weight ("" when it is right): under the
    regimen's weight the dose is by body-surface area, at or above it the weight band's."""
    limit = version.dose_by_area_under_kg
    by_area, weighing_kg = weighing.weight_kg < limit, weight_shown(weighing.weight_kg)
    if dose_basis == InfusionBag.DoseBasis.WEIGHT and by_area:
        return (
            f"Under {limit.normalize():f} kg the dose is by body-surface area ({version.source}); today's "
            f"weighing is {weighing_kg}: check the order."
        )
    if dose_basis == InfusionBag.DoseBasis.BSA and not by_area:
        return (
            f"From {limit.normalize():f} kg the dose is the weight band's flat dose ({version.source}); today's "
            f"weighing is {weighing_kg}: check the order."
        )
    return ""


def _check_event_takes_bag(event: CareEvent) -> None:
    """Refused, for the whole form, when no bag can be hung at `event` now (it is locked)."""
    if event.kind not in BAG_EVENTS:
        raise ValidationError("A bag is recorded for a cycle start, a step-up, a bag change or a restart.")
    if event.status == CareEvent.Status.CANCELLED:
        raise ValidationError("This event was cancelled.")
    # While a stop lasts no bag change is due: the restart moves this event by the break's length,
    # unknown yet, so the checks below (the bag lasts until it comes down, its expiry) would be
    # made against times that will not hold, and the bag changes after the stop are off the plan
    # (a step-up's bag was refused as "runs out before the cycle end 505 hours later").
    stop = Interruption.objects.filter(
        course_id=event.cycle.course_id, restarted_at__isnull=True, permanent=False, stopped_at__lte=event.planned_at
    ).first()
    if stop is not None:
        stopped = moments.moment(stop.stopped_at, event.patient.unit.zone)
        raise ValidationError(
            f"The infusion is stopped since {stopped}: the restart moves this "
            f"{event.get_kind_display().lower()}. Record its bag once the restart is recorded."
        )


def _check_for_event(
    event: CareEvent, *, option: BagOption, dose_basis: str, rate, expires_at, now: dt.datetime, errors: dict
) -> Weighing | None:
    """The checks of a bag's label against the event it is hung at and today's weighing, added to
    `errors` by field: made when a bag is recorded and again when a bag prepared for a cancelled
    event is used for another (infusion_bag_reuse). Returns the weighing they read."""
    if rate is not None and rate != option.rate_ml_per_hour:
        errors["rate_ml_per_hour"] = (
            f"A {option.duration_label} bag runs at {option.rate_ml_per_hour.normalize():f} mL/h "
            f"({option.source}); this bag says {rate.normalize():f} mL/h."
        )
    following = next_change_after(event)
    if following is not None and "option" not in errors:
        # The bag must run until it comes down: a 24 h bag for a 48 h change runs dry.
        hours_needed = (following.planned_at - event.planned_at).total_seconds() / 3600
        if option.duration_hours < hours_needed:
            errors["option"] = (
                f"A {option.duration_label} bag runs out before the {following.get_kind_display().lower()} "
                f"{hours_needed:.0f} hours later: choose a bag that lasts until then."
            )
    if expires_at is not None:
        if expires_at <= now:
            errors["expires_at"] = "This bag has already expired."
        elif following is not None and expires_at < following.planned_at:
            when = moments.moment(following.planned_at, event.patient.unit.zone)
            errors["expires_at"] = (
                f"This bag expires before it comes down at the {following.get_kind_display().lower()} "
                f"on {when}: prepare one that lasts."
            )
    weighing = latest_weighing(event.patient)
    if not_today := weighing_warning(weighing, event, now):
        errors["option"] = not_today
    elif wrong_basis := _basis_for_weight(dose_basis, weighing, event.cycle.course.regimen_version):
        errors["dose_basis"] = wrong_basis
    elif option.preservative and option.min_weight_kg is not None and weighing.weight_kg < option.min_weight_kg:
        errors["option"] = (
            f"A {option.duration_label} bag (with preservative) is not used under "
            f"{option.min_weight_kg.normalize():f} kg "
            f"({option.weight_limit_source}); the newest weighing is {weight_shown(weighing.weight_kg)}."
        )
    return weighing


# What the bag form enters: a bag with the same, sent again at once, is the same bag.
BAG_ENTERED = (
    "event",
    "option",
    "dose",
    "dose_basis",
    "volume_ml",
    "rate_ml_per_hour",
    "expires_at",
    "stabiliser_added",
    "compounded_by",
    "checked_by",
)


@transaction.atomic
def infusion_bag_record(
    *,
    event: CareEvent,
    option: BagOption,
    dose: str,
    dose_basis: str,
    volume_ml,
    rate_ml_per_hour,
    expires_at: dt.datetime | None,
    stabiliser_added: bool,
    compounded_by,
    checked_by,
    actor,
    now: dt.datetime | None = None,
) -> InfusionBag:
    """Record the bag prepared for `event`. Refused, with the field named, when it breaks a rule.
    The same bag sent again by the same person within the minute (a double click) is the first,
    returned as it was: a second row would read as a remade bag replacing it (bag_for_event)."""
    now = now or timezone.now()
    policy.can_record_bag(actor, event.patient).enforce()
    event = CareEvent.objects.select_for_update(no_key=True).select_related("patient__unit", "cycle").get(pk=event.pk)
    _check_event_takes_bag(event)
    errors = {}
    if not option.active:
        errors["option"] = "This bag is no longer offered."
    if not dose.strip():
        errors["dose"] = "Give the dose as it is written on the order."
    if dose_basis not in InfusionBag.DoseBasis.values:
        errors["dose_basis"] = "Choose the basis of the dose."
    try:
        rate = _positive(rate_ml_per_hour, "rate_ml_per_hour", "rate")
    except ValidationError as error:
        errors.update(error.message_dict)
        rate = None
    try:
        volume = _positive(volume_ml, "volume_ml", "volume")
    except ValidationError as error:
        errors.update(error.message_dict)
        volume = None
    if not stabiliser_added:
        errors["stabiliser_added"] = "The IV solution stabiliser is added to every bag."
    if compounded_by is None:
        errors["compounded_by"] = "Name who compounded the bag."
    elif not _of_organisation(compounded_by, event):
        errors["compounded_by"] = "Name someone of this hospital's pharmacy."
    elif not (compounding := policy.can_compound_bag(compounded_by)):
        errors["compounded_by"] = compounding.reason
    if checked_by is None:
        errors["checked_by"] = "Name who checked the bag."
    elif not _of_organisation(checked_by, event):
        errors["checked_by"] = "Name someone of this hospital's pharmacy."
    elif compounded_by is not None and checked_by.pk == compounded_by.pk:
        errors["checked_by"] = "The bag is checked by a second person, not the one who compounded it."
    elif not (checking := policy.can_check_bag(checked_by)):
        errors["checked_by"] = checking.reason
    if expires_at is None:
        errors["expires_at"] = "Give the expiry from the pharmacy label."
    weighing = _check_for_event(
        event, option=option, dose_basis=dose_basis, rate=rate, expires_at=expires_at, now=now, errors=errors
    )
    if errors:
        raise ValidationError(errors)
    # Under the event's lock: the same bag sent twice at once takes turns, the second finds the first.
    bag = InfusionBag(
        patient_id=event.patient_id,
        event=event,
        option=option,
        dose=dose.strip()[:100],
        dose_basis=dose_basis,
        weighing=weighing,
        volume_ml=volume,
        rate_ml_per_hour=rate,
        duration_hours=option.duration_hours,
        preservative=option.preservative,
        stabiliser_added=True,
        expires_at=expires_at,
        compounded_by=compounded_by,
        checked_by=checked_by,
        recorded_by=actor,
        recorded_at=now,
    )
    if first := repeat_of(bag, entered=BAG_ENTERED, now=now):
        return first
    bag.save(force_insert=True)
    # A remade bag replaces the first (bag_for_event): a pump rate the nurse already checked
    # against the first bag's label must be checked again when the new label's rate differs.
    notify_bag_recorded(bag=bag, actor=actor)
    return bag


def _of_organisation(user, event: CareEvent) -> bool:
    """The bag form offers the patient's organisation's staff only; the service checks it too."""
    return user.unit_id is not None and user.unit.organisation_id == event.patient.unit.organisation_id


def bag_for_event(event_id: int) -> InfusionBag | None:
    """The bag hung at an event: the newest recorded (a remade bag replaces the first)."""
    return (
        InfusionBag.objects.filter(event_id=event_id)
        .select_related("compounded_by", "checked_by", "weighing", "moved_from_event", "decided_by")
        .order_by("-recorded_at", "-pk")
        .first()
    )


def bags_moved_from(event_id: int) -> list[InfusionBag]:
    """The bags prepared for this event (since cancelled) that a pharmacist used for another one."""
    return list(InfusionBag.objects.filter(moved_from_event_id=event_id).select_related("event", "decided_by"))


def bag_expiry_warning(bag: InfusionBag | None, event: CareEvent) -> str:
    """Said beside the bag hung at `event` when it now expires before it comes down ("" otherwise).
    Its expiry was checked against the plan when it was recorded (infusion_bag_record); a short
    stop pauses the bag and moves the next change later by the break, so a bag that lasted may
    now run past its expiry."""
    if bag is None:
        return ""
    following = next_change_after(event)
    if following is None or bag.expires_at >= following.planned_at:
        return ""
    zone = event.patient.unit.zone
    return (
        f"This bag expires before it comes down: it expires {moments.moment(bag.expires_at, zone)}, "
        f"and the plan, moved since it was recorded, takes it down at the {following.get_kind_display().lower()} "
        f"on {moments.moment(following.planned_at, zone)}: ask the pharmacy for a new bag."
    )


# --- a bag whose event was cancelled: used for another event, or returned or discarded ---------


def bags_awaiting_decision(patient_id: int):
    """The bags of this patient prepared for an event since cancelled, with no decision yet (a bag
    moved to another event that was cancelled in turn waits again)."""
    return (
        InfusionBag.objects.filter(InfusionBag.AWAITING_DECISION, patient_id=patient_id)
        .select_related("event__cycle", "option", "recorded_by")
        .order_by("expires_at", "pk")
    )


def reuse_targets(bag: InfusionBag):
    """The events a bag may be offered for: the patient's planned bag-hanging events that start
    before it expires, in time order (infusion_bag_reuse checks the rest)."""
    return (
        CareEvent.objects.filter(
            patient_id=bag.patient_id,
            kind__in=BAG_EVENTS,
            status=CareEvent.Status.PLANNED,
            planned_at__lt=bag.expires_at,
        )
        .select_related("cycle")
        .order_by("planned_at", "pk")
    )


def _planned_bag_events(patient_id):
    return CareEvent.objects.filter(
        patient_id=patient_id, kind__in=BAG_EVENTS, status=CareEvent.Status.PLANNED
    ).order_by("planned_at", "pk")


def replacing_event(bag: InfusionBag) -> CareEvent | None:
    """The event offered first for a bag whose event was cancelled: the next planned bag-hanging
    event after the cancelled one's time (a restart moved to a new cycle: the new cycle's start)."""
    return _planned_bag_events(bag.patient_id).filter(planned_at__gt=bag.event.planned_at).first()


# Within this time before the replacing event, a bag still undecided while that event has none is
# shown in red: the nurse is about to hang a bag that nobody has sent.
URGENT_BEFORE = dt.timedelta(hours=1)


def bag_decision_urgency(bag: InfusionBag, replacing: CareEvent | None, now: dt.datetime) -> str:
    """Why a bag waiting for a decision is urgent ("" when it is not): it expired undecided, or the
    replacing event (read with `has_bag`) starts within the hour without a bag."""
    zone = bag.patient.unit.zone
    if bag.expires_at <= now:
        return f"Expired {moments.moment_short(bag.expires_at, zone)} with no decision: return or discard it."
    if replacing is not None and replacing.planned_at - now <= URGENT_BEFORE and not replacing.has_bag:
        return (
            f"The {replacing.get_kind_display().lower()} at {moments.moment_short(replacing.planned_at, zone)} "
            "has no bag yet."
        )
    return ""


def bags_waiting(patient, *, now: dt.datetime, event: CareEvent | None = None) -> list[InfusionBag]:
    """The bags waiting for a decision as the pages show them (the patient's, or one cancelled
    event's), each with the event offered first (`replacing`) and why it is urgent (`urgent`):
    one read when none waits, as on nearly every page; three however many wait."""
    waiting = InfusionBag.objects.filter(InfusionBag.AWAITING_DECISION, patient_id=patient.pk)
    if event is not None:
        waiting = waiting.filter(event=event)
    # Their ids first: building the query of their relations and replacing events cost a rendered
    # patient page 2.5 ms of CPU to find none (docs/performance.md, the fourteenth session).
    ids = list(waiting.values_list("pk", flat=True))
    if not ids:
        return []
    bags = list(
        bags_awaiting_decision(patient.pk)
        .filter(pk__in=ids)
        .annotate(
            replacing_id=Subquery(
                _planned_bag_events(patient.pk).filter(planned_at__gt=OuterRef("event__planned_at")).values("pk")[:1]
            )
        )
    )
    replacing = CareEvent.objects.annotate(has_bag=Exists(InfusionBag.objects.filter(event_id=OuterRef("pk"))))
    replacing = replacing.in_bulk({bag.replacing_id for bag in bags} - {None})
    for bag in bags:
        bag.patient = patient
        bag.replacing = replacing.get(bag.replacing_id)
        bag.urgent = bag_decision_urgency(bag, bag.replacing, now)
    return bags


def _undecided(bag: InfusionBag) -> InfusionBag:
    """The bag, locked, when it still waits for a decision; else refused for the whole form (two
    pharmacists deciding at once: the second is told)."""
    bag = (
        InfusionBag.objects.select_for_update(no_key=True, of=("self",))
        .select_related("event__cycle__course", "option", "patient__unit")
        .get(pk=bag.pk)
    )
    if bag.event.status != CareEvent.Status.CANCELLED:
        raise ValidationError("This bag's event is not cancelled: the bag is hung there as planned.")
    if bag.decision in InfusionBag.OUT_OF_USE:
        raise ValidationError(f"This bag was {bag.get_decision_display().lower()} already.")
    return bag


def _dose_differs(bag: InfusionBag, event: CareEvent) -> str:
    """Why the bag's dose does not run at `event` ("" when it does). The dose is on the label as
    words, so the schedule says it: the low dose (the starting dose before a step-up, or the
    restart dose) or the full dose, at the cancelled event's time and at the new event's. A
    9 mcg/day bag prepared before the step-up is not hung at the step-up (CLINICAL.md)."""
    prepared = low_dose_at(course=bag.event.cycle.course, moment=bag.event.planned_at)
    runs = low_dose_at(course=event.cycle.course, moment=event.planned_at)
    if prepared == runs:
        return ""
    return (
        f"This bag was prepared at {prepared or 'the full dose'}; the {event.get_kind_display().lower()} "
        f"runs at {runs or 'the full dose'}: return or discard it."
    )


@audited(PatientAuditAction.BAG_REUSE)
@transaction.atomic
def infusion_bag_reuse(*, bag: InfusionBag, event: CareEvent | None, actor, now: dt.datetime | None = None):
    """Use a bag prepared for a cancelled event for another planned event of the same patient: the
    checks made when it was recorded are made again against the new event and today's weighing.
    The bag moves to that event and keeps the cancelled one as `moved_from_event`."""
    now = now or timezone.now()
    policy.can_record_bag(actor, bag.patient).enforce()
    bag = _undecided(bag)
    if event is None:
        raise ValidationError({"event": "Choose the event the bag is used for."})
    if event.patient_id != bag.patient_id:
        raise ValidationError({"event": "Choose an event of this patient: a bag is prepared for one patient."})
    event = (
        CareEvent.objects.select_for_update(no_key=True, of=("self",))
        .select_related("patient__unit", "cycle__course__regimen_version")
        .get(pk=event.pk)
    )
    zone = bag.patient.unit.zone
    if bag.expires_at <= now:
        raise ValidationError(
            {
                "event": f"This bag expired {moments.moment(bag.expires_at, zone)}: "
                "it is not used again; return or discard it."
            }
        )
    if event.kind in BAG_EVENTS and event.status != CareEvent.Status.PLANNED:
        raise ValidationError(
            {
                "event": f"This {event.get_kind_display().lower()} is {event.get_status_display().lower()}: "
                "choose a planned event."
            }
        )
    try:
        _check_event_takes_bag(event)
    except ValidationError as refusal:
        raise ValidationError({"event": refusal.messages}) from None
    if event.planned_at >= bag.expires_at:
        raise ValidationError(
            {"event": f"This bag expires {moments.moment(bag.expires_at, zone)}, before this event starts."}
        )
    if InfusionBag.objects.filter(event=event).exists():
        raise ValidationError(
            {"event": "A bag is recorded for this event already: choose another, or return or discard this bag."}
        )
    errors: dict = {}
    _check_for_event(
        event,
        option=bag.option,
        dose_basis=bag.dose_basis,
        rate=bag.rate_ml_per_hour,
        expires_at=bag.expires_at,
        now=now,
        errors=errors,
    )
    if prepared_at := _dose_differs(bag, event):
        errors["dose"] = prepared_at
    if errors:
        # The label cannot change: every reason the bag does not fit this event is the event's.
        raise ValidationError({"event": list(errors.values())})
    bag.moved_from_event_id, bag.event = bag.event_id, event
    bag.decision, bag.decision_reason = InfusionBag.Decision.REUSED, ""
    bag.decided_by, bag.decided_at = actor, now
    bag.save(update_fields=["moved_from_event", "event", "decision", "decision_reason", "decided_by", "decided_at"])
    # Hung at a new event: its pump rate answer is checked against this bag, as for a new record.
    notify_bag_recorded(bag=bag, actor=actor)
    return bag


@audited(PatientAuditAction.BAG_DISPOSE)
@transaction.atomic
def infusion_bag_dispose(
    *, bag: InfusionBag, decision: str, reason: str, actor, now: dt.datetime | None = None
) -> InfusionBag:
    """Return to the pharmacy, or discard, a bag prepared for a cancelled event, saying why."""
    now = now or timezone.now()
    policy.can_record_bag(actor, bag.patient).enforce()
    bag = _undecided(bag)
    errors = {}
    if decision not in InfusionBag.OUT_OF_USE:
        errors["decision"] = "Choose whether the bag is returned to the pharmacy or discarded."
    if not (reason or "").strip():
        errors["reason"] = "Say why (for example: the restart moved to a new cycle; the bag expires first)."
    if errors:
        raise ValidationError(errors)
    bag.decision, bag.decision_reason = decision, reason.strip()[:500]
    bag.decided_by, bag.decided_at = actor, now
    bag.save(update_fields=["decision", "decision_reason", "decided_by", "decided_at"])
    return bag
