"""Import checklist template files (docs/template-format.md) as drafts, all or none."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from checklists.interchange import MAX_BYTES, template_import
from checklists.management.acting import acting_admin


class Command(BaseCommand):
    help = (
        "Import template files as drafts (never published), in the name of an admin: every file is checked, and "
        "if any is refused, none is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, help="Files written by template_export or “Export (JSON)”.")
        parser.add_argument("--user", required=True, help="The admin who imports them (the drafts' author).")

    def handle(self, *args, files, user, **options):
        actor = acting_admin(user)
        problems, drafts = [], []
        with transaction.atomic():
            for path in files:
                try:
                    drafts.append(template_import(self._read(path), actor=actor))
                except ValidationError as error:
                    problems.extend(f"{path}: {message}" for message in error.messages)
            if problems:
                # Every file's problems are said; then nothing of any file is kept.
                transaction.set_rollback(True)
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"Nothing imported: {len(problems)} problem(s) in the files above.")
        for draft in drafts:
            said = f"Imported {draft.template.name} as draft v{draft.number}."
            if draft.settings_kept:
                said += f" The template's own settings are kept; the file's differ: {', '.join(draft.settings_kept)}."
            self.stdout.write(self.style.SUCCESS(said))

    def _read(self, path: Path) -> bytes:
        """The file's bytes; one over the format's limit is refused before it is read."""
        try:
            if path.stat().st_size > MAX_BYTES:
                raise ValidationError(
                    f"The file is {path.stat().st_size / 1024 / 1024:.1f} MB; a template file is at most "
                    f"{MAX_BYTES // 1024 // 1024} MB."
                )
            return path.read_bytes()
        except OSError as error:
            raise ValidationError(f"Cannot read the file: {error.strerror}.") from None
