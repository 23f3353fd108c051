"""`changepassword`, as a password change anywhere else in the tracker: the user's API tokens and
calendar links stop working with the old password (accounts.services.user_password_changed), and
the change is written to the audit log. Django's own command only set the new password, so a
password reset this way because it leaked left a token made with it working for up to a year."""

import getpass

from django.contrib.auth.management.commands import changepassword
from django.db import transaction

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from accounts.services import user_password_changed


class Command(changepassword.Command):
    def handle(self, *args, **options):
        with transaction.atomic(using=options["database"]):
            done = super().handle(*args, **options)
            # The user that Django's command changed: named, or the one running it (as it reads it).
            username = options["username"] or getpass.getuser()
            user = User.objects.using(options["database"]).get(**{User.USERNAME_FIELD: username})
            user_password_changed(user=user, actor=None)
            audit_record(
                action=AuditEvent.Action.PERMISSION_CHANGE,
                object_type="accounts.user",
                object_id=user.pk,
                detail={"event": "password_changed", "by": "manage.py changepassword"},
            )
        return done
