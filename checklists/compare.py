"""Two versions of a template compared in words: the items added, removed and changed, and what
changed in each ("due: 2 days before → 1 day before"). Items are matched across versions by
their key. The compare page and the review page before publication both read it.
"""

from dataclasses import dataclass, field

from accounts.models import Role

from .models import ITEM_CONTENT_FIELDS, TemplateItem, TemplateVersion
from .offsets import describe_offset
from .templatetags.checklist_words import item_label

COMPARED = [*ITEM_CONTENT_FIELDS, "conditions", "depends_on"]
LABELS = {
    **{name: str(TemplateItem._meta.get_field(name).verbose_name) for name in ITEM_CONTENT_FIELDS},
    "due_offset_minutes": "due",
    "order": "position",
    "help_text": "help",
    "conditions": "applies when",
    "depends_on": "done after",
}
ROLE_LABELS = dict(Role.choices)
KIND_LABELS = dict(TemplateItem.ResponseKind.choices)
RECORDS_LABELS = dict(TemplateItem.Records.choices)


def _shown(name: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if name in ("role", "verifier_role"):
        return str(ROLE_LABELS.get(value, value))
    if name == "response_kind":
        return str(KIND_LABELS.get(value, value))
    if name == "records":
        return str(RECORDS_LABELS.get(value, value))
    if name == "due_offset_minutes":
        return describe_offset(value)
    return str(value)


@dataclass(frozen=True)
class _Dependencies:
    """What an item is done after: the same items (by their keys, as items are matched across
    versions) or not, whatever their texts; shown as the editor names them ("#3 Line primed").
    Compared by text, a dependency moved to another item of the same text ("Vital signs recorded"
    before and after the start) was no change, and a renumbered one was a change."""

    keys: frozenset
    said: str = field(compare=False)

    def __str__(self) -> str:
        return self.said


def _dependencies(item: TemplateItem) -> _Dependencies:
    earlier = sorted(item.depends_on.all(), key=lambda dep: dep.order)
    return _Dependencies(frozenset(dep.key for dep in earlier), "; ".join(map(item_label, earlier)) or "—")


def _snapshot(version: TemplateVersion) -> dict:
    snapshot = {}
    for item in version.items.prefetch_related("conditions", "depends_on").order_by("order"):
        values = {name: _shown(name, getattr(item, name)) for name in ITEM_CONTENT_FIELDS}
        values["conditions"] = " and ".join(sorted(str(c) for c in item.conditions.all())) or "always"
        values["depends_on"] = _dependencies(item)
        snapshot[item.key] = (item, values)
    return snapshot


def versions_compare(a: TemplateVersion | None, b: TemplateVersion) -> dict:
    """Items added, removed and changed from a to b (everything is added when there is no a)."""
    old, new = (_snapshot(a) if a else {}), _snapshot(b)
    changed = []
    for key, (item, values) in new.items():
        if key in old:
            before = old[key][1]
            fields = [
                (LABELS[name], str(before[name]), str(values[name]))
                for name in COMPARED
                if before[name] != values[name]
            ]
            if fields:
                changed.append({"item": item, "fields": fields})
    return {
        "added": [item for key, (item, _) in new.items() if key not in old],
        "removed": [item for key, (item, _) in old.items() if key not in new],
        "changed": changed,
    }
