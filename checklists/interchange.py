"""Templates in and out of the installation: one template version as a documented, versioned JSON
file (docs/template-format.md).

An export is deterministic (fields in a fixed order, items by order, conditions and dependencies
sorted, indent 2, UTF-8 kept as is, a final newline), so that exporting, importing the file
elsewhere and exporting again gives the same bytes: a reviewer compares two files with diff.

An import reads and checks the whole file before anything is written, with the same rules as the
template editor (the models' own validation and `TemplateItem.clean()`, the conditions'
`parse_value`), and only then creates a draft in one transaction. It never publishes: the draft
goes through review like any other. The starter library (checklists/starter_library/) ships in
this format and is loaded through the same reader.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Max
from django.utils.text import slugify

from accounts.audit import audit_record, audited
from accounts.models import AuditEvent

from .conditions import parse_value
from .models import (
    ITEM_CONTENT_FIELDS,
    ChecklistAuditAction,
    ChecklistTemplate,
    ItemCondition,
    TemplateCondition,
    TemplateItem,
    TemplateVersion,
)
from .services import template_version_validate

FORMAT = "care-tracker/checklist-template"
FORMAT_VERSION = 1
# A template of a few hundred items is some 300 kB; anything much larger is not a checklist, and
# reading it would only cost the server memory. Checked before the text is parsed.
MAX_BYTES = 1024 * 1024
MEDIA_TYPE = "application/json"

TOP_FIELDS = ("format", "format_version", "template", "version", "items")
TEMPLATE_FIELDS = ("name", "trigger_kind", "description", "approver_role", "conditions")
VERSION_FIELDS = ("change_summary",)
ITEM_FIELDS = ("key", *ITEM_CONTENT_FIELDS, "conditions", "depends_on")
CONDITION_FIELDS = ("fact", "operator", "value")
# Shown at most: a file with a systematic mistake would otherwise list it for every item.
MAX_PROBLEMS = 20

ConditionSpec = tuple[str, str, str]


# --- export ----------------------------------------------------------------------------------


def _plain_decimal(value: Decimal | None) -> str | None:
    """A limit as people write it ("0.1", "300"), the same whatever the database stored ("300.00")."""
    return None if value is None else f"{value.normalize():f}"


def _conditions_data(rows) -> list[dict]:
    return [
        {"fact": fact, "operator": operator, "value": value}
        for fact, operator, value in sorted((row.fact, row.operator, row.value) for row in rows)
    ]


def template_version_export(version: TemplateVersion) -> dict:
    """The version as the format's data: its template's settings, its summary, its items."""
    template = version.template
    items = list(version.items.prefetch_related("conditions", "depends_on").order_by("order"))
    exported = []
    for item in items:
        row: dict[str, Any] = {"key": str(item.key)}
        for name in ITEM_CONTENT_FIELDS:
            value = getattr(item, name)
            row[name] = _plain_decimal(value) if isinstance(value, Decimal) else value
        row["conditions"] = _conditions_data(item.conditions.all())
        row["depends_on"] = [str(dep.key) for dep in sorted(item.depends_on.all(), key=lambda d: (d.order, str(d.key)))]
        exported.append(row)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "template": {
            "name": template.name,
            "trigger_kind": template.trigger_kind,
            "description": template.description,
            "approver_role": template.approver_role,
            "conditions": _conditions_data(template.conditions.all()),
        },
        "version": {"change_summary": version.change_summary},
        "items": exported,
    }


def as_json(data: Mapping) -> str:
    """The format's text: the same data always gives the same bytes."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def template_version_export_json(version: TemplateVersion) -> str:
    return as_json(template_version_export(version))


def export_filename(version: TemplateVersion) -> str:
    """`cycle-1-start-inpatient.json`: the template's name, as a file name on any system."""
    return f"{slugify(version.template.name) or 'template'}.json"


def export_logged(version: TemplateVersion, *, actor=None, request=None) -> None:
    """An export leaves the installation: the audit log says who took which version, as every export."""
    audit_record(
        action=AuditEvent.Action.EXPORT,
        object_type="checklists.templateversion",
        object_id=version.pk,
        detail={"template": version.template.name, "number": version.number, "format_version": FORMAT_VERSION},
        actor=actor,
        request=request,
    )


# --- reading a file --------------------------------------------------------------------------


def _item_label(order, text: str) -> str:
    """ "Item 3 (Weight before the bag change)": as the editor lists it, a long text cut at a word."""
    if len(text) > 80:
        text = text[:79].rsplit(" ", 1)[0] + "…"
    return f"Item {order} ({text})"


@dataclass
class ItemSpec:
    key: uuid.UUID
    values: dict[str, Any]  # ITEM_CONTENT_FIELDS
    conditions: list[ConditionSpec]
    depends_on: list[uuid.UUID]

    @property
    def label(self) -> str:
        return _item_label(self.values["order"], self.values["text"])


@dataclass
class TemplateSpec:
    """A file, read and checked: everything an import writes."""

    name: str
    trigger_kind: str
    description: str
    approver_role: str
    conditions: list[ConditionSpec]
    change_summary: str
    items: list[ItemSpec] = field(default_factory=list)

    @property
    def settings(self) -> dict[str, str]:
        return {
            "name": self.name,
            "trigger_kind": self.trigger_kind,
            "description": self.description,
            "approver_role": self.approver_role,
        }


class _Problems:
    """Every problem of a file, each naming where it is; raised together when the reading is done."""

    def __init__(self):
        self.messages: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.messages.append(f"{where}: {message}" if where else message)

    def add_error(self, where: str, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                for message in ValidationError(errors).messages:
                    self.add(f"{where}, field {name}" if name != "__all__" else where, message)
        else:
            for message in error.messages:
                self.add(where, message)

    def raise_if_any(self) -> None:
        if self.messages:
            shown = self.messages[:MAX_PROBLEMS]
            if len(self.messages) > MAX_PROBLEMS:
                shown.append(f"… and {len(self.messages) - MAX_PROBLEMS} more problems.")
            raise ValidationError(shown)


def _no_duplicate_names(pairs):
    names = [name for name, _ in pairs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise _DuplicateName(twice[0])
    return dict(pairs)


class _DuplicateName(ValueError):
    pass


def _loads(text: str | bytes) -> Any:
    """The file's data, or a ValidationError saying why it cannot be read (size, encoding, JSON)."""
    size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    if size > MAX_BYTES:
        raise ValidationError(
            f"The file is {size / 1024 / 1024:.1f} MB; a template file is at most {MAX_BYTES // 1024 // 1024} MB."
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationError(f"The file is not UTF-8 text (byte {error.start + 1}).") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_names)
    except json.JSONDecodeError as error:
        raise ValidationError(
            f"The file is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
    except _DuplicateName as error:
        raise ValidationError(f"The file names “{error}” twice in the same object.") from None
    except (ValueError, RecursionError):  # a number of thousands of digits, arrays nested thousands deep
        raise ValidationError("The file is not a template: its values are nested too deeply or too long.") from None
    try:
        # An escape of half a character ("\\ud800" alone) is valid JSON but not text: PostgreSQL
        # refuses to store it, and a page cannot show it.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            "The file is not text throughout: it escapes half of a character (\\ud800 to \\udfff alone)."
        ) from None
    return data


def _fields(data: Any, expected: tuple[str, ...], where: str, problems: _Problems) -> bool:
    """Whether `data` is an object with exactly the `expected` names; says what is missing or unknown."""
    if not isinstance(data, dict):
        problems.add(where, f"must be an object with {', '.join(expected)}.")
        return False
    missing = [name for name in expected if name not in data]
    unknown = sorted(set(data) - set(expected))
    for name in missing:
        problems.add(f"{where}, field {name}" if where else f"Field {name}", "missing.")
    for name in unknown:
        problems.add(f"{where}, field {name}" if where else f"Field {name}", "unknown to this format version.")
    return not missing and not unknown


def _type_name(value) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text", list: "a list"}.get(
        type(value), "an object" if isinstance(value, dict) else "null"
    )


def _typed(value, model_field: models.Field, where: str, problems: _Problems):
    """The value checked against the type that the model's field holds; None (and a problem) when wrong."""
    if isinstance(model_field, models.BooleanField):
        ok, expected = isinstance(value, bool), "true or false"
    elif isinstance(model_field, models.IntegerField):  # PositiveIntegerField too
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(model_field, models.DecimalField):
        if value is None and model_field.null:
            return None
        ok, expected = isinstance(value, str), 'a number written as text ("0.1") or null'
        if ok:
            try:
                value = Decimal(value.strip())
                ok = value.is_finite()
            except ArithmeticError:
                ok = False
    elif isinstance(model_field, models.JSONField):  # the options of a single choice
        ok, expected = isinstance(value, list) and all(isinstance(v, str) for v in value), "a list of texts"
    else:
        ok, expected = isinstance(value, str), "text"
        if ok:
            # As the editor's form reads what is typed: without the spaces around it. Kept, "Bag
            # change " was a second template beside "Bag change" (triggered by the same events,
            # each of which got both checklists), and "   " a name.
            value = value.strip()
    if ok and isinstance(value, str) and "\x00" in value:
        problems.add(where, "contains a null character.")
        return _WRONG
    if ok and isinstance(value, list) and any("\x00" in v for v in value):
        problems.add(where, "contains a null character.")
        return _WRONG
    if not ok:
        problems.add(where, f"must be {expected}, not {_type_name(value)}.")
        return _WRONG
    return value


_WRONG = object()  # a value refused by _typed


def _conditions(data: Any, owner, where: str, problems: _Problems) -> list[ConditionSpec]:
    """Conditions as (fact, operator, value), each checked as the editor checks it."""
    if not isinstance(data, list):
        problems.add(f"{where}, field conditions", f"must be a list, not {_type_name(data)}.")
        return []
    rows = []
    for number, row in enumerate(data, start=1):
        at = f"{where}, condition {number}"
        if not _fields(row, CONDITION_FIELDS, at, problems):
            continue
        values = {}
        for name in CONDITION_FIELDS:
            values[name] = _typed(row[name], ItemCondition._meta.get_field(name), f"{at}, field {name}", problems)
        if any(value is _WRONG for value in values.values()):
            continue
        try:
            parse_value(values["fact"], values["operator"], values["value"])
            # The model's own checks too (the value's length).
            owner(**values).full_clean(exclude=["item", "template"], validate_constraints=False)
        except ValidationError as error:
            problems.add_error(at, error)
            continue
        rows.append((values["fact"], values["operator"], values["value"].strip()))
    return rows


def template_read(data_or_text: str | bytes | Mapping) -> TemplateSpec:
    """The file's template, checked whole; ValidationError listing every problem, each naming
    the item and the field. Nothing is written."""
    data = data_or_text if isinstance(data_or_text, Mapping) else _loads(data_or_text)
    problems = _Problems()
    if not isinstance(data, dict):
        raise ValidationError("The file is not a template: it must be a JSON object.")
    if data.get("format") != FORMAT:
        raise ValidationError(f"Unknown format “{str(data.get('format'))[:80]}”: this file is not a {FORMAT} file.")
    if data.get("format_version") != FORMAT_VERSION or isinstance(data.get("format_version"), bool):
        raise ValidationError(
            f"Unknown format_version {str(data.get('format_version'))[:20]}: "
            f"this installation reads format_version {FORMAT_VERSION}."
        )
    if not _fields(data, TOP_FIELDS, "", problems):
        problems.raise_if_any()
    spec = _read_settings(data, problems)
    if not isinstance(data["items"], list) or not data["items"]:
        problems.add("Field items", "must be a list of at least one item.")
        problems.raise_if_any()
    spec.items = [
        item for number, row in enumerate(data["items"], start=1) if (item := _read_item(row, number, problems))
    ]
    problems.raise_if_any()
    _check_together(spec.items, problems)
    problems.raise_if_any()
    return spec


def _read_settings(data: dict, problems: _Problems) -> TemplateSpec:
    settings, version = data["template"], data["version"]
    spec = TemplateSpec(name="", trigger_kind="", description="", approver_role="", conditions=[], change_summary="")
    if _fields(settings, TEMPLATE_FIELDS, "Template", problems):
        values = {}
        for name in ("name", "trigger_kind", "description", "approver_role"):
            values[name] = _typed(
                settings[name], ChecklistTemplate._meta.get_field(name), f"Template, field {name}", problems
            )
        if not any(value is _WRONG for value in values.values()):
            try:
                ChecklistTemplate(**values).full_clean(validate_unique=False, validate_constraints=False)
            except ValidationError as error:
                problems.add_error("Template", error)
            for name, value in values.items():
                setattr(spec, name, value)
        spec.conditions = _conditions(settings["conditions"], TemplateCondition, "Template", problems)
    if _fields(version, VERSION_FIELDS, "Version", problems):
        summary = version["change_summary"]
        model_field = TemplateVersion._meta.get_field("change_summary")
        if (summary := _typed(summary, model_field, "Version, field change_summary", problems)) is not _WRONG:
            try:
                model_field.clean(summary, None)
                spec.change_summary = summary
            except ValidationError as error:
                problems.add_error("Version, field change_summary", error)
    return spec


def _read_item(row: Any, number: int, problems: _Problems) -> ItemSpec | None:
    """One item, checked alone: its fields' types, the model's rules, its conditions."""
    where = f"Item {number}"
    if isinstance(row, dict) and isinstance(row.get("text"), str):
        # Named as the editor shows it, by its order when the file gives one.
        shown = row.get("order") if isinstance(row.get("order"), int) else number
        where = _item_label(shown, row["text"])
    if not _fields(row, ITEM_FIELDS, where, problems):
        return None
    values = {
        name: _typed(row[name], TemplateItem._meta.get_field(name), f"{where}, field {name}", problems)
        for name in ITEM_CONTENT_FIELDS
    }
    key = _uuid(row["key"], f"{where}, field key", problems)
    conditions = _conditions(row["conditions"], ItemCondition, where, problems)
    depends_on = []
    if not isinstance(row["depends_on"], list):
        problems.add(f"{where}, field depends_on", f"must be a list of item keys, not {_type_name(row['depends_on'])}.")
    else:
        depends_on = [_uuid(value, f"{where}, field depends_on", problems) for value in row["depends_on"]]
    if any(value is _WRONG for value in values.values()) or key is None or None in depends_on:
        return None
    try:
        # The editor's rules, from the model: lengths, choices of role and kind, the offset's
        # bounds, and clean()'s (a hard stop only where an answer can fail, options…).
        TemplateItem(**values).full_clean(exclude=["version", "key"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        problems.add_error(where, error)
        return None
    return ItemSpec(key=key, values=values, conditions=conditions, depends_on=depends_on)


def _uuid(value, where: str, problems: _Problems) -> uuid.UUID | None:
    try:
        if not isinstance(value, str):
            raise ValueError
        return uuid.UUID(value)
    except ValueError:
        problems.add(where, f"must be an item key (a UUID such as {uuid.UUID(int=0)}), not {str(value)[:60]!r}.")
        return None


def _check_together(items: list[ItemSpec], problems: _Problems) -> None:
    """What holds between items: orders and keys used once, dependencies on known items, no circle."""
    by_order: dict[int, ItemSpec] = {}
    by_key: dict[uuid.UUID, ItemSpec] = {}
    for item in items:
        order = item.values["order"]
        if order in by_order:
            problems.add(f"{item.label}, field order", f"{order} is also the order of {by_order[order].label}.")
        by_order.setdefault(order, item)
        if item.key in by_key:
            problems.add(f"{item.label}, field key", f"{item.key} is also the key of {by_key[item.key].label}.")
        by_key.setdefault(item.key, item)
    for item in items:
        for key in item.depends_on:
            if key not in by_key:
                problems.add(f"{item.label}, field depends_on", f"no item of this file has the key {key}.")
            elif key == item.key:
                problems.add(f"{item.label}, field depends_on", "an item cannot wait for itself.")
        if len(set(item.depends_on)) != len(item.depends_on):
            problems.add(f"{item.label}, field depends_on", "names the same item twice.")
    if problems.messages:
        return
    if circle := _circle(items, by_key):
        path = " → ".join(item.label for item in circle)
        problems.add(f"{circle[0].label}, field depends_on", f"the items wait for each other in a circle: {path}.")


def _circle(items: list[ItemSpec], by_key: dict[uuid.UUID, ItemSpec]) -> list[ItemSpec]:
    """A dependency circle, as the items along it back to the first; [] when there is none.
    Depth first without recursion: a file of thousands of chained items must not exhaust the stack."""
    done: set[uuid.UUID] = set()
    for start in items:
        if start.key in done:
            continue
        path = [start.key]
        stack = [iter(start.depends_on)]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                done.add(path.pop())
                stack.pop()
            elif following in path:
                return [by_key[key] for key in [*path[path.index(following) :], following]]
            elif following not in done:
                path.append(following)
                stack.append(iter(by_key[following].depends_on))
    return []


# --- import ----------------------------------------------------------------------------------


def version_fill(version: TemplateVersion, spec: TemplateSpec, *, keys: Mapping[uuid.UUID, uuid.UUID] | None = None):
    """Write the spec's items into an empty draft, with their conditions and dependencies.

    `keys` maps a file's item key to the key to store instead (the starter library's update keeps
    the identity that an item already has in this installation)."""
    keys = keys or {}
    rows = {
        item.key: TemplateItem(version=version, key=keys.get(item.key, item.key), **item.values) for item in spec.items
    }
    TemplateItem.objects.bulk_create(rows.values())
    ItemCondition.objects.bulk_create(
        ItemCondition(item=rows[item.key], fact=fact, operator=operator, value=value)
        for item in spec.items
        for fact, operator, value in item.conditions
    )
    through = TemplateItem.depends_on.through
    through.objects.bulk_create(
        through(from_templateitem_id=rows[item.key].pk, to_templateitem_id=rows[key].pk)
        for item in spec.items
        for key in item.depends_on
    )


def settings_differences(template: ChecklistTemplate, spec: TemplateSpec) -> list[str]:
    """The template settings in which the file differs from the template here (by their field names)."""
    differ = [name for name in ("description", "approver_role") if getattr(template, name) != getattr(spec, name)]
    here = sorted((c.fact, c.operator, c.value) for c in template.conditions.all())
    if here != sorted(spec.conditions):
        differ.append("conditions")
    return differ


def _keys_of_a_new_template(spec: TemplateSpec) -> dict[uuid.UUID, uuid.UUID]:
    """A new key for each item of the file whose key another template here already has.

    A key is an item's identity across its template's versions (comparisons, the starter library's
    update, the reports' items): a template exported, renamed and imported is a new template, and
    sharing the old one's keys would make its items the same items as the old one's. A key that no
    template has here is kept, so that a file moved between installations keeps its keys."""
    taken = set(TemplateItem.objects.filter(key__in=[item.key for item in spec.items]).values_list("key", flat=True))
    return {key: uuid.uuid4() for key in taken}


@audited(ChecklistAuditAction.IMPORT)
@transaction.atomic
def template_import(data_or_text: str | bytes | Mapping, *, actor) -> TemplateVersion:
    """A draft made from a file, never published: a new template when none has the file's name,
    else a new draft of that template (refused while it has a draft or one in review). A new
    template's items get new keys where another template has the file's (`_keys_of_a_new_template`);
    a new draft keeps them, which is how its items stay those of the versions before it.

    An existing template keeps its own settings (description, approver, conditions: they are not
    versioned and apply at once, so a file must not change them behind the review); the ones in
    which the file differs are listed on the returned version as `settings_kept`.
    """
    spec = template_read(data_or_text)
    template = ChecklistTemplate.objects.select_for_update(no_key=True).filter(name=spec.name).first()
    kept: list[str] = []
    keys: dict[uuid.UUID, uuid.UUID] = {}  # into an existing template, the file's keys: its items' identity
    if template is None:
        try:
            with transaction.atomic():  # a savepoint: an import of the same name at the same moment
                template = ChecklistTemplate.objects.create(**spec.settings)
        except IntegrityError:
            raise ValidationError(
                f"A template named “{spec.name}” was created meanwhile; import the file again."
            ) from None
        TemplateCondition.objects.bulk_create(
            TemplateCondition(template=template, fact=fact, operator=operator, value=value)
            for fact, operator, value in spec.conditions
        )
        keys = _keys_of_a_new_template(spec)
        number = 1
    else:
        if template.trigger_kind != spec.trigger_kind:
            raise ValidationError(
                f"Template, field trigger_kind: “{template.name}” here is triggered by "
                f"{template.get_trigger_kind_display().lower()}, the file's by {spec.trigger_kind}; "
                "rename the template in the file to import it as a new one."
            )
        unpublished = template.versions.filter(status__in=TemplateVersion.UNPUBLISHED).first()
        if unpublished is not None:
            in_review = unpublished.status == TemplateVersion.Status.IN_REVIEW
            raise ValidationError(
                f"“{template.name}” already has v{unpublished.number} {'in review' if in_review else 'as a draft'}: "
                "publish it, or discard it (“Discard draft…” on its page"
                f"{', after returning it to draft' if in_review else ''}), before importing another version."
            )
        kept = settings_differences(template, spec)
        number = (template.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    version = TemplateVersion.objects.create(template=template, number=number, change_summary=spec.change_summary)
    version_fill(version, spec, keys=keys)
    if actor is not None:
        version.authors.add(actor)
    template_version_validate(version)  # the publication's check, once more on what was written
    version.settings_kept = kept
    return version
