"""The admin in whose name a command changes templates (`--user`)."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from accounts.permissions import can
from checklists.policy import EDIT_TEMPLATES


def acting_admin(username: str):
    """The active admin of this username who may edit templates, or CommandError."""
    actor = get_user_model().objects.filter(username=username, is_active=True).first()
    if actor is None or not can(actor, EDIT_TEMPLATES):
        raise CommandError(f"“{username}” is not an active admin who may edit templates.")
    return actor
