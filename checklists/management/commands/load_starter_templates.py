from django.core.management.base import BaseCommand

from checklists.management.acting import acting_admin
from checklists.starter import STARTER_FILES, starter_library_load


class Command(BaseCommand):
    help = (
        "Create and publish the starter blinatumomab checklist templates that do not exist yet (idempotent): each "
        "first version is installed without review, and its history says so."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--user",
            help="The admin who installs them, named in each template's history (without it: the system).",
        )

    def handle(self, *args, user=None, **options):
        actor = acting_admin(user) if user else None
        created = starter_library_load(actor=actor)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {created} starter template(s); {len(STARTER_FILES) - created} already existed."
            )
        )
