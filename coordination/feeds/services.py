"""Calendar links: make or renew a user's key, and find the user that a link's secret names."""

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.audit import acting

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


def feed_key_renew(*, actor, second_step_passed: bool, now=None) -> FeedKey:
    """Make the actor's calendar links, or replace them: the old links stop working at once.
    `second_step_passed`: the session making them passed the second sign-in step (policy.can_read).
    The database logs the change as the actor's (FeedKey's trigger): a create, or an update of
    `renewed_at`, never the nonce."""
    values = {
        "nonce": secrets.token_urlsafe(32),
        "renewed_at": now or timezone.now(),
        "with_second_step": second_step_passed,
    }
    with transaction.atomic(), acting(actor):
        key, _ = FeedKey.objects.update_or_create(user=actor, defaults=values)
    return key


def feed_keys_revoke(*, user, actor) -> None:
    """End the user's calendar links (registered with accounts.credentials): the account was
    deactivated or may be in other hands. The key is deleted, not renewed, so that nothing made
    before works again if the account is reactivated; the user makes new links from the Security
    page. The database logs the deletion as the actor's (None: the system)."""
    with acting(actor):
        FeedKey.objects.filter(user=user).delete()
