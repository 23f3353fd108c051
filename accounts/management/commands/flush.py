"""`flush`, connected as the owner role when DATABASE_OWNER_URL is set: the application's role may
not empty the audit log (accounts.database_roles). Tests that commit are emptied this way."""

from django.core.management.commands import flush

from accounts.database_roles import as_owner


class Command(flush.Command):
    def handle(self, **options):
        with as_owner(options["database"]):
            return super().handle(**options)
