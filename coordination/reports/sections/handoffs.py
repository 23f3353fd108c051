"""3. Handoffs: turnaround sent → acknowledged → accepted, the slowest, and the returns."""

from django.db.models import Count, F, Q

from accounts.models import Unit

from ...handoffs.models import Handoff, HandoffActivity
from ..period import Period
from ..stats import grouped
from ..tables import Table
from .common import Section, duration, local_time, person

SLOWEST_HANDOFFS = 5
RETURNS_LISTED = 20


def handoffs(unit: Unit, period: Period) -> Section:
    """Handoffs sent in the period (their last sending) by the unit or to it: how long to be
    acknowledged and accepted, how many acknowledged after their deadline (or still waiting past
    it); the slowest to acknowledge; the returns of the period with their reasons. Five queries
    (the two directions one each)."""
    sent = Handoff.objects.filter(
        Q(from_unit_id=unit.pk) | Q(to_unit_id=unit.pk), sent_at__gte=period.start, sent_at__lt=period.end
    )
    outgoing = Q(from_unit_id=unit.pk)
    past_deadline = Q(acknowledge_by__isnull=False) & (
        Q(acknowledged_at__gt=F("acknowledge_by"))
        | Q(acknowledged_at__isnull=True, status=Handoff.Status.SENT, acknowledge_by__lt=period.now)
    )
    columns = [
        "Direction",
        "Sent",
        "Acknowledged",
        "Acknowledged: median",
        "Acknowledged: 90th percentile",
        "Acknowledged: slowest",
        "Accepted",
        "Accepted: median",
        "Accepted: 90th percentile",
        "Accepted: slowest",
        "Past the deadline (acknowledged late or still waiting)",
    ]
    short = {
        "Acknowledged": "Ack.",
        "Acknowledged: median": "Ack. median",
        "Acknowledged: 90th percentile": "Ack. 90th pct.",
        "Acknowledged: slowest": "Ack. slowest",
        "Accepted: 90th percentile": "Accepted: 90th pct.",
        "Past the deadline (acknowledged late or still waiting)": "Past the deadline",
    }
    turnaround = Table("turnaround", "Turnaround: sent → acknowledged, sent → accepted", columns, short=short)
    for label, direction in (("Sent by this unit", outgoing), ("Received by this unit", ~outgoing)):
        row = grouped(
            sent.filter(direction),
            [],
            counts={
                "sent": Count("pk"),
                "acknowledged": Count("pk", filter=Q(acknowledged_at__isnull=False)),
                "accepted": Count("pk", filter=Q(accepted_at__isnull=False)),
                "past": Count("pk", filter=past_deadline),
            },
            durations={
                "ack": (duration("acknowledged_at", "sent_at"), Q(acknowledged_at__isnull=False)),
                "acc": (duration("accepted_at", "sent_at"), Q(accepted_at__isnull=False)),
            },
        )[0]
        if row["sent"]:
            turnaround.rows.append(
                [
                    label,
                    row["sent"],
                    row["acknowledged"],
                    row["ack_median"],
                    row["ack_p90"],
                    row["ack_max"],
                    row["accepted"],
                    row["acc_median"],
                    row["acc_p90"],
                    row["acc_max"],
                    row["past"],
                ]
            )
    kinds = dict(Handoff.Kind.choices)
    slowest = Table(
        "slowest",
        f"The {SLOWEST_HANDOFFS} slowest to be acknowledged",
        ["Handoff", "Kind", "From → to", "Sent", "Acknowledged after"],
    )
    for handoff in (
        sent.filter(acknowledged_at__isnull=False)
        .annotate(took=duration("acknowledged_at", "sent_at"))
        .select_related("from_unit", "to_unit")
        .order_by("-took", "pk")[:SLOWEST_HANDOFFS]
    ):
        slowest.rows.append(
            [
                f"Handoff {handoff.pk}",
                kinds.get(handoff.kind, handoff.kind),
                f"{handoff.from_unit} → {handoff.to_unit}",
                local_time(handoff.sent_at, period),
                handoff.took,
            ]
        )
    returns = HandoffActivity.objects.filter(
        Q(handoff__from_unit_id=unit.pk) | Q(handoff__to_unit_id=unit.pk),
        action=HandoffActivity.Action.RETURN,
        at__gte=period.start,
        at__lt=period.end,
    )
    returned = Table(
        "returns",
        f"Returned to the sender, with the reason (the newest {RETURNS_LISTED})",
        ["When", "Handoff", "From → to", "Returned by", "Reason"],
    )
    for activity in returns.select_related("handoff__from_unit", "handoff__to_unit", "actor").order_by("-at", "-pk")[
        :RETURNS_LISTED
    ]:
        who = activity.actor
        returned.rows.append(
            [
                local_time(activity.at, period),
                f"Handoff {activity.handoff_id}",
                f"{activity.handoff.from_unit} → {activity.handoff.to_unit}",
                person(who.first_name, who.last_name, who.username) if who else "The system",
                activity.detail,
            ]
        )
    count = Table(
        "returns_count",
        "Returns in the period",
        ["Returns", "Count"],
        rows=[["Returned to the sender", returns.count()]],
    )
    return Section("handoffs", "Handoffs", [turnaround, slowest, count, returned])
