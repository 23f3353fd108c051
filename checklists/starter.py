"""The starter library: blinatumomab checklist templates as files of the template format, and
their loader.

The files (checklists/starter_library/, docs/template-format.md) hold what the templates say,
each item naming its source: the facts come from /work/shared/CLINICAL.md (corrected 2026-12),
which gathers the prescribing information, the maker's professional pages and published
practice. They are a starting point that each institution's pharmacy and oncology team edit in
the template pages; nothing here is a rule hard-wired in code. What differs by regimen is read
from the course's regimen version, not written here: the premedication items apply when the fact
`premedication_due` says the regimen asks for one, and the drug, dose and window are copied into
the task from the regimen when the checklist is made.

The files are exactly what `manage.py template_export --all` writes for a fresh library, item
keys included: an item keeps its key from one release of the library to the next. They are read
through the import code (checklists.interchange), with every check an imported file gets.

- `starter_library_load` creates a template only when none of that name (or of its former
  name) exists, so admins' edits and later versions are never overwritten, and publishes its
  first version as the installation's content: without review, and said so in its history
  ("Installed from the starter library", by the admin given, else by the system);
- `starter_library_update` never publishes: it writes the corrected content as a draft of each
  starter template whose published version the starter library made and that has no draft open
  or in review, for the template's owners to submit and approve as any other draft. It changes
  no setting either (they apply at once, without review): it says which differ.
"""

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from patients.models import CareEvent

from .conditions import describe_all
from .governance import template_version_install
from .interchange import TemplateSpec, template_import, template_read, version_fill
from .models import ITEM_CONTENT_FIELDS, ChecklistTemplate, TemplateVersion
from .services import template_version_new_draft, template_version_validate

LIBRARY = Path(__file__).resolve().parent / "starter_library"
# In the order they are loaded (the order of the former Python library).
STARTER_FILES = (
    "cycle-1-start-inpatient.json",
    "cycle-2-start.json",
    "later-cycle-start-clinic.json",
    "dose-step-up-or-re-escalation.json",
    "bag-change.json",
    "crs-and-icans-check.json",
    "hospital-to-home-transition.json",
    "restart-after-an-interruption.json",
    "cycle-end.json",
    "home-visit.json",
    "interruption.json",
)
STEP_UP_TEMPLATE = "Dose step-up or re-escalation"
# The bag options as the library's bag items spell them (as the pharmacist reads them on the
# label: CLINICAL.md, "Infusion, pump, line and bags"); the bag options' own data
# (patients.BagOption) hold the weight limits checked against today's weighing.
BAG_OPTIONS = [
    "24 h (10 mL/h)",
    "48 h (5 mL/h)",
    "72 h (1.8 mL/h, benzyl alcohol)",
    "96 h (1.8 mL/h, benzyl alcohol)",
    "7 days (0.6 mL/h, benzyl alcohol)",
]

# A starter template renamed since an earlier library: the former name counts as the same template.
FORMER_NAMES = {"Step-up dose (cycle 1 day 8)": STEP_UP_TEMPLATE}
LOAD_SUMMARY = "Starter library"
CORRECTION_SUMMARY = "Starter library corrected to the regimens by indication (CLINICAL.md, 2026-12)"
STARTER_SUMMARIES = (LOAD_SUMMARY, CORRECTION_SUMMARY)

Condition = tuple[str, str, str]


@functools.cache
def starter_texts() -> tuple[str, ...]:
    """The library's files, as text, in loading order."""
    return tuple((LIBRARY / name).read_text(encoding="utf-8") for name in STARTER_FILES)


def starter_specs() -> list[TemplateSpec]:
    """The library's templates, read and checked as any imported file is."""
    return [template_read(text) for text in starter_texts()]


# --- the loader ---------------------------------------------------------------------------------


def _former_name(name: str) -> str | None:
    return next((old for old, new in FORMER_NAMES.items() if new == name), None)


def _existing(spec: TemplateSpec) -> ChecklistTemplate | None:
    """The installation's template of a library file: by its name, its former name, or, renamed
    here since, by its items' keys (an item keeps its key from one release of the library to the
    next, and across versions). Found by name alone, a renamed starter template was installed
    again at the next load, published without review beside the admins' own."""
    names = [spec.name, *filter(None, [_former_name(spec.name)])]
    for name in names:
        if template := ChecklistTemplate.objects.filter(name=name).first():
            return template
    keys = [item.key for item in spec.items]
    return ChecklistTemplate.objects.filter(versions__items__key__in=keys).order_by("pk").first()


@transaction.atomic
def starter_library_load(*, actor=None) -> int:
    """Create and publish the starter templates that do not exist yet; the number created.

    Each first version is installed without review (checklists.governance.template_version_install):
    its history says so, by `actor` (the admin who loads the library; None: the system). A
    template that exists under its former name, or renamed here, is left to `starter_library_update`.
    """
    created = 0
    for spec, text in zip(starter_specs(), starter_texts(), strict=True):
        if _existing(spec) is not None:
            continue
        _create(text, actor=actor)
        created += 1
    return created


def _create(data: str | Mapping, *, actor) -> ChecklistTemplate:
    """A template of the library, imported (a draft) and installed as the library's."""
    draft = template_import(data, actor=actor)
    template_version_install(version=draft, actor=actor, change_summary=LOAD_SUMMARY)
    return draft.template


# --- the update ---------------------------------------------------------------------------------


@dataclass
class StarterUpdate:
    """What `starter_library_update` did, template by template (by their names here)."""

    drafted: dict[str, TemplateVersion] = field(default_factory=dict)  # name → the draft written, for review
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # name → why it was left alone
    settings: dict[str, list[str]] = field(default_factory=dict)  # name → the settings the library says otherwise


def spec_content(spec: TemplateSpec) -> list:
    """The items as the update compares them: their fields, conditions and dependencies (by
    order), without their keys (a library loaded before the files has keys of its own)."""
    order_of = {item.key: item.values["order"] for item in spec.items}
    return [
        (
            {name: item.values[name] for name in ITEM_CONTENT_FIELDS},
            sorted(item.conditions),
            sorted(order_of[key] for key in item.depends_on),
        )
        for item in sorted(spec.items, key=lambda item: item.values["order"])
    ]


def version_content(version: TemplateVersion) -> list:
    items = version.items.prefetch_related("conditions", "depends_on").order_by("order")
    return [
        (
            {name: getattr(item, name) for name in ITEM_CONTENT_FIELDS},
            sorted((c.fact, c.operator, c.value) for c in item.conditions.all()),
            sorted(dep.order for dep in item.depends_on.all()),
        )
        for item in items
    ]


def _template_conditions(template: ChecklistTemplate) -> list[Condition]:
    return sorted((c.fact, c.operator, c.value) for c in template.conditions.all())


def _keys_kept(draft: TemplateVersion, spec: TemplateSpec) -> dict[uuid.UUID, uuid.UUID]:
    """For each item of the file, the key it keeps here: its own when the draft has it (a library
    loaded from these files), else that of the draft's item of the same text (one loaded before
    them), else the file's."""
    here = list(draft.items.order_by("order").values_list("key", "text"))
    free = {key for key, _ in here}
    by_text: dict[str, uuid.UUID] = {}
    for key, text in here:
        by_text.setdefault(text, key)
    kept = {}
    for item in spec.items:
        if item.key in free:
            kept[item.key] = item.key
            free.discard(item.key)
    for item in spec.items:
        if item.key in kept:
            continue
        key = by_text.get(item.values["text"])
        kept[item.key] = key if key in free else item.key
        free.discard(kept[item.key])
    return kept


def _settings_differences(template: ChecklistTemplate, spec: TemplateSpec) -> list[str]:
    """The template's settings that the library's file says otherwise, in words: the update does not
    change them (they apply at once, without review); the template's owners do, on its page."""
    differ = []
    if template.name != spec.name:
        differ.append(f"name: “{spec.name}”")
    if template.trigger_kind != spec.trigger_kind:
        differ.append(f"triggered by: {CareEvent.Kind(spec.trigger_kind).label.lower()}")
    if template.description != spec.description:
        differ.append("description")
    if _template_conditions(template) != sorted(spec.conditions):
        differ.append(f"conditions: {describe_all(spec.conditions)}")
    return differ


@transaction.atomic
def starter_library_update(actor=None, *, force: bool = False) -> StarterUpdate:
    """Write the corrected content of each starter template that already exists as a draft, for
    its owners to submit and approve: nothing is published here, and no setting changes.

    A draft is written when the published items (their fields, conditions, dependencies) differ
    from the library's file, with the correction's summary; `actor`, who brings it in, is among
    its authors (so another admin approves it). The settings that differ (name, trigger,
    description, conditions) are listed in `settings`. Left alone: a template with a draft or a
    version in review (someone is working on it), and, unless `force`, one whose published
    version is not the starter library's (an institution's own edit: with `force` it gets a
    draft too, which its reviewers compare with their edit). Idempotent: a second call finds the
    drafts open and writes nothing. Templates that do not exist are `starter_library_load`'s.
    """
    result = StarterUpdate()
    for spec in starter_specs():
        template = _existing(spec)
        if template is None:
            continue
        label = template.name
        unpublished = template.versions.filter(status__in=TemplateVersion.UNPUBLISHED).first()
        if unpublished is not None:
            result.skipped[label] = (
                "it has a draft in review"
                if unpublished.status == TemplateVersion.Status.IN_REVIEW
                else "it has an open draft"
            )
            continue
        published = template.versions.filter(status=TemplateVersion.Status.PUBLISHED).first()
        items_differ = published is None or version_content(published) != spec_content(spec)
        settings = _settings_differences(template, spec)
        if not (items_differ or settings):
            result.unchanged.append(label)
            continue
        if not force and (published is None or published.change_summary not in STARTER_SUMMARIES):
            result.skipped[label] = "its published version is a local edit, not the starter library's"
            continue
        if settings:
            result.settings[label] = settings
        if items_differ:
            draft = template_version_new_draft(template=template, actor=actor)
            keys = _keys_kept(draft, spec)
            draft.items.all().delete()
            version_fill(draft, spec, keys=keys)
            draft.change_summary = CORRECTION_SUMMARY
            draft.save(update_fields=["change_summary"])
            template_version_validate(draft)  # what its submission checks, once more on what was written
            result.drafted[label] = draft
    return result
