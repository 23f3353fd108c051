"""Check that no row of the audit log was altered, removed or slipped in since it was sealed."""

from django.core.management.base import BaseCommand, CommandError

from accounts.audit_seal import audit_verify, checkpoint_path


class Command(BaseCommand):
    help = (
        "Walk the audit log's keyed hash chain and the latest checkpoint outside the database; "
        "name the first altered, removed or slipped-in row, or a removed tail."
    )

    def handle(self, *args, **options):
        try:
            found = audit_verify()
        except NotImplementedError as error:
            raise CommandError(str(error)) from error
        if found.problem:
            subject = f"Audit log row {found.row_id} fails verification" if found.row_id else "The audit log fails"
            raise CommandError(f"{subject}: {found.problem}. The {found.checked} sealed rows before it are intact.")
        if found.checkpoint:
            against = f"the checkpoint of {found.checkpoint.at} (#{found.checkpoint.position}) matches"
        else:
            against = f"no checkpoint in {checkpoint_path()} yet: a removed tail could not be seen"
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit log intact: {found.checked} rows verified; {against}; "
                f"{found.pending} rows written since the last sealing pass."
            )
        )
