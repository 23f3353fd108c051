"""Calendar links: make or renew a user's key, and find the user that a link's secret names."""

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.audit import audit_record
from accounts.models import AuditEvent

from .models import FeedKey

_SALT = "coordination.feeds.FeedKey"


def feed_secret(key: FeedKey) -> str:
    """The secret of the user's links: the key's id and an HMAC of its nonce (never stored)."""
    return f"{key.pk}-{salted_hmac(_SALT, key.nonce, algorithm='sha256').hexdigest()[:40]}"


def feed_key_for_secret(secret: str) -> FeedKey | None:
    """The key that `secret` was made from, while it is current and its user active; else None."""
    key_id, _, mac = secret.partition("-")
    if not key_id.isdecimal() or len(key_id) > 18 or not mac:
        return None
    key = FeedKey.objects.select_related("user__unit").filter(pk=int(key_id), user__is_active=True).first()
    if key is None or not constant_time_compare(feed_secret(key), secret):
        return None
    return key


@transaction.atomic
def feed_key_renew(*, actor, second_step_passed: bool, now=None) -> FeedKey:
    """Make the actor's calendar links, or replace them: the old links stop working at once.
    `second_step_passed`: the session making them passed the second sign-in step (policy.can_read)."""
    values = {
        "nonce": secrets.token_urlsafe(32),
        "renewed_at": now or timezone.now(),
        "with_second_step": second_step_passed,
    }
    key, created = FeedKey.objects.update_or_create(user=actor, defaults=values)
    audit_record(
        action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
        object_type="coordination.feedkey",
        object_id=key.pk,
        actor=actor,
    )
    return key


def feed_keys_revoke(*, user, actor) -> None:
    """End the user's calendar links (registered with accounts.credentials): the account was
    deactivated or may be in other hands. The key is deleted, not renewed, so that nothing made
    before works again if the account is reactivated; the user makes new links from the Security page."""
    for key in FeedKey.objects.filter(user=user):
        key_id = key.pk
        key.delete()
        audit_record(action=AuditEvent.Action.DELETE, object_type="coordination.feedkey", object_id=key_id, actor=actor)
