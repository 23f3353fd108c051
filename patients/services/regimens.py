"""Regimen versions: drafts that admins edit, published versions that never change."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import BagOption, PremedicationRule, Regimen, RegimenCycleRule, RegimenVersion
from ..regimen_library import regimen_library_load


def regimen_library_seed() -> int:
    """Create the starter regimens and bag options that are missing (never overwrites an edit)."""
    return regimen_library_load(
        regimen_model=Regimen,
        version_model=RegimenVersion,
        cycle_rule_model=RegimenCycleRule,
        premedication_model=PremedicationRule,
        bag_model=BagOption,
        now=timezone.now(),
    )


@transaction.atomic
def regimen_version_new_draft(*, regimen: Regimen, actor) -> RegimenVersion:
    """A draft copying the newest version, rules included; at most one draft per regimen."""
    regimen = Regimen.objects.select_for_update(no_key=True).get(pk=regimen.pk)
    if regimen.versions.filter(status=RegimenVersion.Status.DRAFT).exists():
        raise ValidationError("This regimen already has a draft: edit that one.")
    source = regimen.versions.order_by("-number").first()
    number = (source.number if source else 0) + 1
    if source is None:
        raise ValidationError("A regimen starts from the library; there is nothing to copy.")
    draft = RegimenVersion.objects.get(pk=source.pk)
    draft.pk, draft.number, draft.status = None, number, RegimenVersion.Status.DRAFT
    draft.published_at = draft.published_by = None
    draft.change_summary, draft.created_at = "", timezone.now()
    draft.save()
    for rule in source.cycle_rules.all():
        rule.pk, rule.version = None, draft
        rule.save()
    for premedication in source.premedications.all():
        premedication.pk, premedication.version = None, draft
        premedication.save()
    return draft


def regimen_version_validate(version: RegimenVersion) -> None:
    """What a version needs before courses may be planned on it."""
    errors = []
    rules = sorted(version.cycle_rules.all(), key=lambda rule: rule.first_cycle)
    if not rules or rules[0].first_cycle != 1:
        errors.append("Give a cycle rule starting at cycle 1.")
    if version.has_step_up and not version.step_up_dose.strip():
        errors.append("A regimen with a step-up names the step-up dose.")
    if not version.source.strip():
        errors.append("Name the label version the rules come from.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def regimen_version_publish(*, version: RegimenVersion, actor, change_summary: str = "") -> RegimenVersion:
    """Publish a draft; the previous published version retires. Running courses keep theirs."""
    version = RegimenVersion.objects.select_for_update(no_key=True).get(pk=version.pk)
    if version.status != RegimenVersion.Status.DRAFT:
        raise ValidationError("Only a draft can be published.")
    if not (change_summary or version.change_summary).strip():
        raise ValidationError({"change_summary": "Say what changed, for those who read the plan later."})
    regimen_version_validate(version)
    current = RegimenVersion.objects.filter(regimen=version.regimen, status=RegimenVersion.Status.PUBLISHED).first()
    if current is not None:
        current.status = RegimenVersion.Status.RETIRED
        current.save(update_fields=["status"])
    version.status = RegimenVersion.Status.PUBLISHED
    version.published_at, version.published_by = timezone.now(), actor
    version.change_summary = (change_summary or version.change_summary).strip()[:500]
    version.save()
    return version
