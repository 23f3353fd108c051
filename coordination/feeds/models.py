"""The key behind a user's calendar links.

A calendar app cannot sign in, so a feed's URL is its own credential. The database keeps only a
random nonce per user; the secret in the URL is an HMAC of it under the site's secret key
(coordination.feeds.services), so that a copy of the database alone opens no feed. Renewing
draws a new nonce: every link made from the old one stops working at once.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.triggers import change_trigger


class FeedKey(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_key")
    nonce = models.CharField(max_length=64)
    renewed_at = models.DateTimeField(default=timezone.now)
    # Made in a session that had passed the second sign-in step: a role that requires the step
    # (staff, coordinators) reads only such links, also when the role came after the links, as
    # for API tokens (accounts.models.PersonalToken.with_second_step).
    with_second_step = models.BooleanField(default=False)

    class Meta:
        # Made, renewed and ended links are logged by the database, as API tokens are, whatever
        # makes the change (a service, the deletion of the user, raw SQL); the nonce the links are
        # made from never reaches the log (a renewal is logged by its `renewed_at`).
        triggers = [change_trigger(patient=None, ignore=("nonce",))]

    def __str__(self) -> str:
        return f"Calendar links of {self.user} (since {self.renewed_at:%Y-%m-%d %H:%M})"
