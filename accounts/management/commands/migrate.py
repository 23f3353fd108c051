"""`migrate`, connected as the owner role when DATABASE_OWNER_URL is set (accounts.database_roles)."""

from django.core.management.commands import migrate

from accounts.database_roles import as_owner


class Command(migrate.Command):
    def handle(self, *args, **options):
        with as_owner(options["database"]):
            return super().handle(*args, **options)
