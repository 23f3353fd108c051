"""Access grants: a receiving unit's window on a patient (opened and closed by the handoff service), or
one person's (the on-call oncologist an urgent alert reached, opened by the watch)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import AccessGrant


@transaction.atomic
def access_grant_open(
    *,
    patient,
    unit=None,
    user=None,
    reason: str,
    actor=None,
    now: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
) -> AccessGrant:
    """Open a unit's (or one person's) window on a patient from now (open-ended unless `ends_at`).

    The caller (a handoff being sent) keeps the grant and closes it with `access_grant_close`;
    `Patient.objects.visible_to` is what reads it.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the unit may see the patient."})
    if (unit is None) == (user is None):
        raise ValueError("A grant opens to a unit or to a person.")
    # A patient's record never leaves its organisation, whichever caller asks (the handoff form and
    # the on-call roster offer only its units and people; this holds for any caller that does not).
    organisation_id = unit.organisation_id if unit is not None else getattr(user.unit, "organisation_id", None)
    if organisation_id != patient.organisation_id:
        raise ValidationError({"unit" if unit is not None else "user": "Choose a unit or a person of this hospital."})
    return AccessGrant.objects.create(
        patient=patient, unit=unit, user=user, reason=reason[:200], starts_at=now or timezone.now(), ends_at=ends_at
    )


@transaction.atomic
def access_grant_close(
    *, grant: AccessGrant, actor=None, ends_at: dt.datetime | None = None, now: dt.datetime | None = None
) -> AccessGrant:
    """Close a grant: revoked at once when no `ends_at` is given (a returned or cancelled
    handoff), otherwise ending at `ends_at` (a set period after a completed handoff).

    A grant already revoked stays as it was; an end is only ever brought forward, never pushed
    back (closing twice never widens access).
    """
    now = now or timezone.now()
    grant = AccessGrant.objects.select_for_update(no_key=True).get(pk=grant.pk)
    if grant.revoked_at is not None:
        return grant
    if ends_at is None:
        grant.revoked_at = now
        grant.save(update_fields=["revoked_at"])
    elif grant.ends_at is None or ends_at < grant.ends_at:
        grant.ends_at = ends_at
        grant.save(update_fields=["ends_at"])
    return grant


@transaction.atomic
def access_grant_end_move(*, grant: AccessGrant, ends_at: dt.datetime, now: dt.datetime | None = None) -> AccessGrant:
    """Move the end of a grant that lasts as long as something planned (a receiving unit's window
    that ends with the pump-off at home, moved by a break or brought forward by a stop for good):
    later or sooner, but always to an end. A grant revoked, or already ended, stays so: a moved
    plan never opens a patient again to someone who had lost them."""
    now = now or timezone.now()
    grant = AccessGrant.objects.select_for_update(no_key=True).get(pk=grant.pk)
    if grant.revoked_at is not None or (grant.ends_at is not None and grant.ends_at <= now):
        return grant
    if grant.ends_at != ends_at:
        grant.ends_at = ends_at
        grant.save(update_fields=["ends_at"])
    return grant
