from django.core.management.base import BaseCommand

from checklists.starter import STARTER_FILES, starter_library_load


class Command(BaseCommand):
    help = "Create and publish the starter blinatumomab checklist templates that do not exist yet (idempotent)."

    def handle(self, *args, **options):
        created = starter_library_load()
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {created} starter template(s); {len(STARTER_FILES) - created} already existed."
            )
        )
