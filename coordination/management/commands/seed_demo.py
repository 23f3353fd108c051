from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from coordination.demo import CONTENT_ADMINS, DEMO_USERS, seed_demo


class Command(BaseCommand):
    help = "Load the demo organisation, users, patients and templates. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never on real data).")

    def handle(self, *args, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to load demo data with DEBUG off; pass --force if this is really a demo.")
        password = settings.DEMO_PASSWORD
        if not password:
            raise CommandError("Set DEMO_PASSWORD in the environment: it becomes every demo user's password.")
        result = seed_demo(password=password)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {result.users} users, {result.patients} patients."))
        for name, draft in result.starter.drafted.items():
            self.stdout.write(
                f"Starter library: {name} has a corrected draft v{draft.number} to review and approve "
                "(Checklist templates); nothing is published until another admin approves it."
            )
        names = ", ".join([username for username, *_ in [*DEMO_USERS, *CONTENT_ADMINS]] + ["admin"])
        self.stdout.write(f"Demo logins ({names}), password: the DEMO_PASSWORD you set.")
