"""Check that no row of the audit log was altered, removed or slipped in since it was written."""

from django.core.management.base import BaseCommand, CommandError

from accounts.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Recompute the audit log's hash chain and name the first altered row, if any."

    def handle(self, *args, **options):
        try:
            checked, broken = audit_chain_verify()
        except NotImplementedError as error:
            raise CommandError(str(error)) from error
        if broken is not None:
            raise CommandError(
                f"Audit log row {broken.row_id} fails verification: {broken.reason}. "
                f"The {checked} rows before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit log intact: {checked} rows verified."))
