from django.core.management.base import BaseCommand

from checklists.management.acting import acting_admin
from checklists.starter import STARTER_FILES, StarterUpdate, starter_library_load, starter_library_update


class Command(BaseCommand):
    help = (
        "Create and publish the starter blinatumomab checklist templates that do not exist yet (idempotent); "
        "with --update, also write the library's corrections of the starter templates that exist as drafts, for "
        "their owners to submit and approve (nothing is published)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--update",
            action="store_true",
            help="Write a draft of each existing starter template whose published content differs from the library "
            "(never one with a draft open or in review, nor one edited locally unless --force); publish nothing.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --update: write a draft for locally edited templates too (their reviewers compare the two).",
        )
        parser.add_argument(
            "--user",
            help="The admin in whose name templates are installed and drafts written (the drafts' author, so "
            "another admin approves them). Without it: the system.",
        )

    def handle(self, *args, update=False, force=False, user=None, **options):
        actor = acting_admin(user) if user else None
        created = starter_library_load(actor=actor)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {created} starter template(s); {len(STARTER_FILES) - created} already existed."
            )
        )
        if force and not update:
            self.stdout.write(self.style.WARNING("--force does nothing without --update."))
        if update:
            self._report(starter_library_update(actor=actor, force=force))

    def _report(self, result: StarterUpdate) -> None:
        if result.drafted:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Wrote the library's corrections as a draft of {len(result.drafted)} starter template(s) for "
                    "their owners to submit and approve on Checklist templates (nothing is published until another "
                    f"admin approves it); {len(result.unchanged)} already up to date."
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(f"No draft written: {len(result.unchanged)} starter template(s) already up to date.")
            )
        for name, draft in result.drafted.items():
            self.stdout.write(f"  draft to review: {name} (v{draft.number})")
        for name, settings in result.settings.items():
            self.stdout.write(
                f"  settings differ: {name}: {', '.join(settings)} (not changed: change them on the template's page)"
            )
        for name, why in result.skipped.items():
            self.stdout.write(self.style.WARNING(f"  left alone: {name} ({why})"))
