from django.core.management.base import BaseCommand

from checklists.starter import STARTER_FILES, starter_library_load, starter_library_update


class Command(BaseCommand):
    help = (
        "Create and publish the starter blinatumomab checklist templates that do not exist yet (idempotent); "
        "with --update, also publish the corrected content of the starter templates that exist."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--update",
            action="store_true",
            help="Publish a new version of each existing starter template whose published content differs from "
            "the library (never one with an open draft, nor one edited locally unless --force).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --update: replace locally edited templates too (their versions stay in the history).",
        )

    def handle(self, *args, update=False, force=False, **options):
        created = starter_library_load()
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {created} starter template(s); {len(STARTER_FILES) - created} already existed."
            )
        )
        if force and not update:
            self.stdout.write(self.style.WARNING("--force does nothing without --update."))
        if not update:
            return
        result = starter_library_update(force=force)
        for former, name in result.renamed.items():
            self.stdout.write(f"Renamed “{former}” to “{name}”.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Updated {len(result.updated)} starter template(s); {len(result.unchanged)} already up to date."
            )
        )
        for name in result.updated:
            self.stdout.write(f"  updated: {name}")
        for name, why in result.skipped.items():
            self.stdout.write(self.style.WARNING(f"  left alone: {name} ({why})"))
