"""Write checklist template versions as files of the template format (docs/template-format.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from checklists.interchange import export_filename, export_logged, template_version_export_json
from checklists.models import ChecklistTemplate, TemplateVersion


class Command(BaseCommand):
    help = (
        "Export a checklist template's published version (or --version N) as JSON, to stdout or, with --output DIR, "
        "to DIR/<template-name>.json; --all exports every template's published version into --output DIR."
    )

    def add_arguments(self, parser):
        # `--version N` names a template version, as an admin would expect; it replaces Django's
        # own --version (the framework's version number), which no one asks of this command.
        parser.conflict_handler = parser._optionals.conflict_handler = "resolve"
        parser.add_argument("name", nargs="?", help="The template's name, as the template list shows it.")
        parser.add_argument(
            "--all", action="store_true", dest="every", help="Every template that has a published version."
        )
        parser.add_argument(
            "--version", type=int, dest="number", help="This version number instead of the published one."
        )
        parser.add_argument("--output", type=Path, help="A directory: one file per template, named after it.")

    def handle(self, *args, name=None, every=False, number=None, output=None, **options):
        if bool(name) == every:
            raise CommandError("Name one template, or give --all.")
        if every and number is not None:
            raise CommandError("--version goes with one template's name, not with --all.")
        if every and output is None:
            raise CommandError("--all writes one file per template: give --output DIR.")
        if output is not None and not output.is_dir():
            raise CommandError(f"{output} is not a directory.")
        versions = [self._one(name, number)] if name else self._every()
        for version in versions:
            text = template_version_export_json(version)
            export_logged(version)  # the system exports: no actor
            if output is None:
                self.stdout.write(text, ending="")
            else:
                path = output / export_filename(version)
                path.write_text(text, encoding="utf-8")
                self.stderr.write(f"{version.template.name} v{version.number} → {path}")

    def _one(self, name: str, number: int | None) -> TemplateVersion:
        template = ChecklistTemplate.objects.filter(name=name).first()
        if template is None:
            raise CommandError(f"No template is named “{name}”.")
        versions = template.versions.select_related("template")
        if number is not None:
            version = versions.filter(number=number).first()
            if version is None:
                known = ", ".join(f"v{n}" for n in versions.order_by("number").values_list("number", flat=True))
                raise CommandError(f"“{name}” has no version {number} (it has {known or 'none'}).")
            return version
        version = versions.filter(status=TemplateVersion.Status.PUBLISHED).first()
        if version is None:
            raise CommandError(f"“{name}” has no published version: name one with --version N.")
        return version

    def _every(self) -> list[TemplateVersion]:
        versions = list(
            TemplateVersion.objects.filter(status=TemplateVersion.Status.PUBLISHED)
            .select_related("template")
            .order_by("template__name")
        )
        unpublished = ChecklistTemplate.objects.exclude(versions__status=TemplateVersion.Status.PUBLISHED)
        for template in unpublished.order_by("name"):
            self.stderr.write(self.style.WARNING(f"Left out: {template.name} (no published version)."))
        return versions
