"""Domain operations of the checklist engine: edit and publish templates, instantiate, work tasks.

Every state change takes `actor=` and runs in a transaction; a task is changed under a row
lock, so two people acting on it at once get one outcome and the other is told who won.
Who may act is checklists.policy's answer, asked here of the locked row and enforced.
"""

import datetime as dt
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import models, transaction
from django.db.models import (
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from accounts import moments
from accounts.audit import audited
from accounts.models import AuditEvent
from patients.models import CareEvent, Patient
from patients.selectors import premedication_for_event
from patients.services import courses_follow_their_events

from . import policy
from .conditions import parse_value
from .gate import Readiness, checklist_readiness
from .hooks import notify_hard_stop_failed
from .impact import replaced_checklists
from .models import (
    ITEM_CONTENT_FIELDS,
    Checklist,
    ChecklistAuditAction,
    ChecklistTemplate,
    ConditionRow,
    ItemCondition,
    OverrideJustification,
    Task,
    TaskActivity,
    TemplateCondition,
    TemplateItem,
    TemplateVersion,
    bag_duration_hours,
)
from .policy import TaskConflict as TaskConflict  # raised by the policy's refusals; callers catch it from here
from .recorded import check_recorded_answer, keep_recorded_answer, parse_datetime_answer, recorded_answer_question

TRUE_VALUES = {"on", "true", "yes", "1", "checked", "done"}
# A number as people write it at the bedside: ASCII digits, a point or a comma, up to 8 digits
# before it and 4 after. Python's Decimal would also take 1e-2000 (a thousand digits stored),
# 1_000, Arabic-Indic or mathematical bold digits, which no one means on a ward.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]{1,8}(?:[.,][0-9]{1,4})?", re.ASCII)
# A comma before exactly three digits ("2,800"): a thousands separator or a decimal comma.
THOUSANDS_OR_DECIMAL = re.compile(r"([+-]?)([0-9]{1,3}),([0-9]{3})", re.ASCII)
NOT_A_NUMBER = "Enter a number with the digits 0–9, for example 65.5."
# Digits only, but more of them than PLAIN_NUMBER keeps (0.00001, 123456789): told what is too
# long, not that it is no number, which a nurse who typed only digits would not understand.
LONG_NUMBER = re.compile(r"[+-]?([0-9]+)(?:[.,]([0-9]+))?", re.ASCII)
TOO_MANY_DECIMALS = "At most 4 digits after the decimal point, for example 65.5."
TOO_MANY_DIGITS = "At most 8 digits before the decimal point."
ATTESTATION_VALUE = "attested"


# --- templates -----------------------------------------------------------------------------


@audited(AuditEvent.Action.CREATE)
@transaction.atomic
def template_version_new_draft(*, template: ChecklistTemplate, actor) -> TemplateVersion:
    """The template's draft, made as a copy of its newest published (or retired) version when
    there is none."""
    ChecklistTemplate.objects.select_for_update(no_key=True).get(pk=template.pk)
    draft = template.versions.filter(status__in=TemplateVersion.UNPUBLISHED).first()
    if draft:
        return draft
    # The newest version that was published: a discarded draft's changes were abandoned.
    source = template.versions.filter(status__in=TemplateVersion.RELEASED).order_by("-number").first()
    number = (template.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    draft = TemplateVersion.objects.create(template=template, number=number)
    if actor is not None and actor.pk is not None:
        draft.authors.add(actor)
    if source:
        _copy_items(source=source, target=draft)
    return draft


def _copy_items(*, source: TemplateVersion, target: TemplateVersion) -> None:
    items = list(source.items.prefetch_related("conditions", "depends_on"))
    copies = {
        item.pk: TemplateItem(
            version=target,
            key=item.key,
            **{f: getattr(item, f) for f in ITEM_CONTENT_FIELDS},
        )
        for item in items
    }
    TemplateItem.objects.bulk_create(copies.values())
    ItemCondition.objects.bulk_create(
        ItemCondition(item=copies[item.pk], fact=c.fact, operator=c.operator, value=c.value)
        for item in items
        for c in item.conditions.all()
    )
    through = TemplateItem.depends_on.through
    through.objects.bulk_create(
        through(from_templateitem_id=copies[item.pk].pk, to_templateitem_id=copies[dep.pk].pk)
        for item in items
        for dep in item.depends_on.all()
    )


def template_version_validate(version: TemplateVersion) -> None:
    """Everything the editing forms check, once more for the whole version before publishing."""
    items = list(version.items.prefetch_related("conditions", "depends_on"))
    if not items:
        raise ValidationError("A version needs at least one item before it is published.")
    problems = []
    for item in items:
        try:
            # The stored rows already hold to the table's unique and check constraints (the
            # database enforced them): validating them again would cost a query per item.
            item.full_clean(exclude=["version", "key"], validate_unique=False, validate_constraints=False)
            for condition in item.conditions.all():
                condition.clean()
        except ValidationError as error:
            problems.append(f"Item {item.order} ({item.text[:40]}): {'; '.join(error.messages)}")
        if any(dep.version_id != version.pk for dep in item.depends_on.all()):
            problems.append(f"Item {item.order} depends on an item of another version.")
    if _has_dependency_cycle(items):
        problems.append("Items depend on each other in a circle.")
    if problems:
        raise ValidationError(problems)


def _has_dependency_cycle(items: Sequence[TemplateItem]) -> bool:
    """Depth first without recursion, as the file reader walks it (interchange._circle): a draft
    of a thousand items each done after the next one exhausted Python's stack, a server error
    at import, submission and on the review page."""
    edges = {item.pk: [dep.pk for dep in item.depends_on.all()] for item in items}
    done: set[int] = set()
    for start in edges:
        if start in done:
            continue
        on_path, stack = {start}, [(start, iter(edges[start]))]
        while stack:
            node, following = stack[-1]
            dep = next(following, None)
            if dep is None:
                stack.pop()
                on_path.discard(node)
                done.add(node)
            elif dep in on_path:
                return True
            elif dep not in done:
                on_path.add(dep)
                stack.append((dep, iter(edges.get(dep, ()))))
    return False


@audited(ChecklistAuditAction.PUBLISH)
@transaction.atomic
def template_version_publish(
    *, version: TemplateVersion, actor, change_summary: str = "", now: dt.datetime | None = None
) -> TemplateVersion:
    """Publish a draft; the previous published version retires. Checklists with work on them
    keep their version; the untouched ones of upcoming events are re-made on this one, and
    upcoming events without one get one (checklists.impact says which, before it is done).

    No one's approval is asked here: the pages publish through checklists.governance."""
    now = now or timezone.now()
    ChecklistTemplate.objects.select_for_update(no_key=True).get(pk=version.template_id)
    version = TemplateVersion.objects.get(pk=version.pk)
    if not version.is_unpublished:
        raise ValidationError("Only a draft can be published.")
    template_version_validate(version)
    for previous in version.template.versions.filter(status=TemplateVersion.Status.PUBLISHED):
        previous.status = TemplateVersion.Status.RETIRED
        previous.save(update_fields=["status"])
    version.status = TemplateVersion.Status.PUBLISHED
    version.published_by = actor
    version.published_at = now
    version.change_summary = change_summary.strip() or version.change_summary
    version.save()
    template = version.template
    # The upcoming events that publication may give the new version, locked (in id order, as every
    # other path locks events) before it asks which checklists nobody has worked on: a task is
    # completed under its event's lock (task_complete), so a completion under way finishes first
    # and its checklist is seen as worked on and kept, and one that comes later waits for the new
    # checklist. Asked without the lock, a completion committed meanwhile was deleted with its
    # checklist (or its history made the deletion fail).
    list(
        CareEvent.objects.select_for_update(no_key=True, of=("self",))
        .filter(kind=template.trigger_kind, status=CareEvent.Status.PLANNED, planned_at__gt=now)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    replaced = replaced_checklists(template, now=now)
    Checklist.objects.filter(pk__in=[checklist.pk for checklist in replaced]).delete()
    # Future events that have no checklist of this template (any more) get one now.
    upcoming = CareEvent.objects.filter(
        kind=template.trigger_kind, status=CareEvent.Status.PLANNED, planned_at__gt=now
    ).exclude(checklists__template=template)
    checklists_instantiate(events=list(upcoming))
    return version


# --- editing a draft: its items, their conditions and dependencies ---------------------------
# The template editor's pages, and any other caller, change a draft only through these. Each
# locks the template row as publishing does and reads the version again under that lock, so an
# edit and a publication of the same template never interleave: a version published meanwhile
# refuses the edit, and nothing of it is saved.

DRAFT_ONLY = "Only a draft can be edited; make a new draft."
ConditionSpec = tuple[str, str, str]  # fact, operator, value: weight_kg, lt, 45


def _draft_locked(version_id: int, *, author=None) -> TemplateVersion:
    """The draft, under its template's lock; `author`, who is about to change it, joins its
    authors (none of whom may approve it: checklists.governance)."""
    template_ids = TemplateVersion.objects.filter(pk=version_id).values("template_id")
    list(ChecklistTemplate.objects.select_for_update(no_key=True).filter(pk__in=template_ids))
    version = TemplateVersion.objects.select_related("template").filter(pk=version_id).first()
    if version is None or not version.is_editable:
        raise ValidationError(DRAFT_ONLY)
    if author is not None and author.pk is not None:
        version.authors.add(author)
    return version


def template_item_check(
    *, version: TemplateVersion, item: TemplateItem | None = None, order: int | None, depends_on: Sequence[TemplateItem]
) -> None:
    """What an item must keep within its draft beyond its own fields: a free position, and
    dependencies on items of the same draft that do not already wait for it.

    A dependency that would close a circle is refused naming the items of the circle as the
    editor names them: "Choosing #5 Pump programmed would make a circle: it already waits for
    this item (through #4 Line primed)". The editor's form asks it for its messages; the services
    below enforce it under the lock.
    """

    def path_between(start: int, goal: int) -> list[int] | None:
        """The chain of items from `start` to `goal` following what each waits for, or None."""
        came_from, stack = {start: None}, [start]
        while stack:
            node = stack.pop()
            if node == goal:
                path = [node]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return path[::-1]
            for next_node in sorted(waits_for.get(node, ())):
                if next_node not in came_from:
                    came_from[next_node] = node
                    stack.append(next_node)
        return None

    errors = {}
    item_pk = item.pk if item is not None else None
    if order is not None and version.items.filter(order=order).exclude(pk=item_pk).exists():
        errors["order"] = f"Item {order} already exists in this draft; choose a free position."
    chosen = [dep.pk for dep in depends_on]
    if any(dep.version_id != version.pk for dep in depends_on):
        errors["depends_on"] = "Only items of this draft can be chosen."
    elif item_pk is not None and item_pk in chosen:
        errors["depends_on"] = "An item cannot wait for itself: that would be a circle."
    elif item_pk is not None and chosen:
        waits_for = defaultdict(set)  # item -> the items it is done after, as stored
        for source, target in TemplateItem.depends_on.through.objects.filter(
            from_templateitem__version=version
        ).values_list("from_templateitem_id", "to_templateitem_id"):
            waits_for[source].add(target)
        for start in chosen:
            path = path_between(start, item_pk)
            if path is not None:  # the chosen item already waits, maybe through others, for this one
                label = {
                    pk: f"#{number} {text}"
                    for pk, number, text in version.items.filter(pk__in=path).values_list("pk", "order", "text")
                }
                through = f" (through {', then '.join(label[pk] for pk in path[1:-1])})" if len(path) > 2 else ""
                errors["depends_on"] = (
                    f"Choosing {label[start]} would make a circle: it already waits for this item{through}. Untick it."
                )
                break
    if errors:
        raise ValidationError(errors)


def _item_write(
    *,
    version: TemplateVersion,
    item: TemplateItem,
    values: Mapping[str, Any],
    depends_on: Sequence[TemplateItem] | None,
    conditions: Sequence[ConditionSpec] | None,
) -> TemplateItem:
    if unknown := set(values) - set(ITEM_CONTENT_FIELDS):
        raise TypeError(f"Not a field of a template item: {', '.join(sorted(unknown))}")
    for name, value in values.items():
        setattr(item, name, value)
    if item.order is None:
        item.order = (version.items.aggregate(top=Max("order"))["top"] or 0) + 1
    dependencies = list(item.depends_on.all()) if depends_on is None else list(depends_on)
    template_item_check(version=version, item=item if item.pk else None, order=item.order, depends_on=dependencies)
    item.full_clean(exclude=["version", "key"])
    wanted = _conditions_checked(ItemCondition, conditions, item=item)
    item.save()
    if depends_on is not None:
        item.depends_on.set(dependencies)
    if wanted is not None:
        _conditions_set(ItemCondition, wanted, item=item)
    return item


def _conditions_checked(model, conditions: Sequence[ConditionSpec] | None, **owner) -> list[ConditionSpec] | None:
    """The conditions as they will be stored, each checked as its model checks it; refused with
    every problem at once. None (leave them as they are) stays None."""
    if conditions is None:
        return None
    wanted = [(fact, operator, str(value).strip()) for fact, operator, value in conditions]
    problems = []
    for number, (fact, operator, value) in enumerate(wanted, start=1):
        try:
            model(fact=fact, operator=operator, value=value, **owner).full_clean(exclude=list(owner))
        except ValidationError as error:
            problems.append(f"Condition {number}: {'; '.join(error.messages)}")
    if problems:
        raise ValidationError(problems)
    return wanted


def _conditions_set(model, wanted: list[ConditionSpec], **owner) -> None:
    """Give the owner exactly these conditions: the rows that stay are kept, the others removed,
    the new ones added."""
    wanted, stale = list(wanted), []
    for row in model.objects.filter(**owner):
        if (row.fact, row.operator, row.value) in wanted:
            wanted.remove((row.fact, row.operator, row.value))
        else:
            stale.append(row.pk)
    model.objects.filter(pk__in=stale).delete()
    model.objects.bulk_create(
        model(fact=fact, operator=operator, value=value, **owner) for fact, operator, value in wanted
    )


@audited(AuditEvent.Action.CREATE)
@transaction.atomic
def template_item_create(
    *,
    version: TemplateVersion,
    values: Mapping[str, Any],
    depends_on: Sequence[TemplateItem] = (),
    conditions: Sequence[ConditionSpec] = (),
    actor,
) -> TemplateItem:
    """Add an item to a draft (at the end unless `values` gives its order), with the items it is
    done after and the conditions under which it applies."""
    version = _draft_locked(version.pk, author=actor)
    item = TemplateItem(version=version)
    return _item_write(version=version, item=item, values=values, depends_on=depends_on, conditions=conditions)


def template_item_fingerprint(item: TemplateItem) -> str:
    """What an item of a draft says now (its fields, conditions and dependencies), in a short
    text that changes whenever any of it does: the editor's page sends back the one it showed."""
    said = {
        "fields": {name: str(getattr(item, name)) for name in ITEM_CONTENT_FIELDS},
        # Through the relations, so that a page that prefetched them (the items table) reads no more.
        "conditions": sorted((c.fact, c.operator, c.value) for c in item.conditions.all()),
        "depends_on": sorted(other.pk for other in item.depends_on.all()),
    }
    return hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()[:32]


CHANGED_MEANWHILE = (
    "Another admin changed this item while you were editing it; nothing of yours is saved. "
    "The fields below are still yours: compare them with the draft, then save again to replace its version."
)


@audited(AuditEvent.Action.UPDATE)
@transaction.atomic
def template_item_update(
    *,
    item: TemplateItem,
    values: Mapping[str, Any],
    depends_on: Sequence[TemplateItem] | None = None,
    conditions: Sequence[ConditionSpec] | None = None,
    seen: str | None = None,
    actor,
) -> TemplateItem:
    """Change an item of a draft; its dependencies and conditions become exactly those given
    (None leaves them as they are). `seen`: the item's fingerprint when the editor showed it; if
    another admin changed it since, the change is refused (code "changed_meanwhile") rather than
    written over theirs unseen."""
    version = _draft_locked(item.version_id, author=actor)
    item = version.items.filter(pk=item.pk).first()
    if item is None:
        raise ValidationError("This item is no longer in the draft.")
    if seen is not None and seen != template_item_fingerprint(item):
        raise ValidationError(CHANGED_MEANWHILE, code="changed_meanwhile")
    return _item_write(version=version, item=item, values=values, depends_on=depends_on, conditions=conditions)


REMOVED_UNSEEN = (
    "Another admin changed this item after you opened the page; it is not removed. "
    "Read it again below, then remove it if you still mean to."
)


@audited(AuditEvent.Action.DELETE)
@transaction.atomic
def template_item_delete(*, item: TemplateItem, actor, seen: str | None = None) -> None:
    """Remove an item from a draft, with its conditions and the dependencies on it. `seen`: the
    item's fingerprint when the page showed it; if another admin changed it since, the removal
    is refused (code "changed_meanwhile"): nobody removes a change they never saw."""
    version = _draft_locked(item.version_id, author=actor)
    item = version.items.filter(pk=item.pk).first()
    if item is None:
        return
    if seen is not None and seen != template_item_fingerprint(item):
        raise ValidationError(REMOVED_UNSEEN, code="changed_meanwhile")
    item.delete()


@audited(AuditEvent.Action.UPDATE)
@transaction.atomic
def template_item_move(*, item: TemplateItem, direction: str, actor) -> bool:
    """Swap an item with its neighbour above or below; False when it is already at the top or
    the bottom. The swap goes through a free position, as an order is used once per version."""
    if direction not in ("up", "down"):
        raise ValidationError("Move an item up or down.")
    version = _draft_locked(item.version_id, author=actor)
    item = version.items.filter(pk=item.pk).first()
    if item is None:
        raise ValidationError("This item is no longer in the draft.")
    siblings = version.items.exclude(pk=item.pk)
    if direction == "up":
        neighbour = siblings.filter(order__lt=item.order).order_by("-order").first()
    else:
        neighbour = siblings.filter(order__gt=item.order).order_by("order").first()
    if neighbour is None:
        return False
    free = (version.items.aggregate(top=Max("order"))["top"] or 0) + 1
    mine, theirs = item.order, neighbour.order
    item.order = free
    item.save(update_fields=["order"])
    neighbour.order = mine
    neighbour.save(update_fields=["order"])
    item.order = theirs
    item.save(update_fields=["order"])
    return True


@audited(AuditEvent.Action.UPDATE)
@transaction.atomic
def template_item_reorder(*, version: TemplateVersion, item_ids: Sequence[int], actor) -> list[TemplateItem]:
    """Put a draft's items in the order given (their ids, first to last) and number them 1 to n.
    Refused unless the list names every item of the draft exactly once: a page that shows an
    older list (another admin added or removed an item meanwhile) is told to load it again."""
    version = _draft_locked(version.pk, author=actor)
    items = {item.pk: item for item in version.items.all()}
    if len(item_ids) != len(set(item_ids)) or set(item_ids) != set(items):
        raise ValidationError(
            "The new order must list every item of the draft once; the draft changed meanwhile. "
            "Load the page again and move the item once more."
        )
    # An order is used once per version, checked row by row: every item first goes above the
    # highest number in use, then takes its place, so no two ever meet on one number.
    top = max((item.order for item in items.values()), default=0)
    version.items.update(order=F("order") + top + len(items))
    ordered = [items[pk] for pk in item_ids]
    for number, item in enumerate(ordered, start=1):
        item.order = number
    TemplateItem.objects.bulk_update(ordered, ["order"])
    return ordered


# --- a template's own settings: name, trigger, conditions, active -----------------------------
# Not versioned: a change applies to the checklists created from then on; existing ones keep theirs
# (a checklist pins its template's conditions: Checklist.template_conditions).

TEMPLATE_FIELDS = ("name", "trigger_kind", "description", "is_active", "approver_role")


def _template_write(
    *,
    template: ChecklistTemplate,
    values: Mapping[str, Any],
    conditions: Sequence[ConditionSpec] | None,
    in_review: bool = False,
) -> ChecklistTemplate:
    if unknown := set(values) - set(TEMPLATE_FIELDS):
        raise TypeError(f"Not a setting of a template: {', '.join(sorted(unknown))}")
    before = {name: getattr(template, name) for name in values}
    for name, value in values.items():
        setattr(template, name, value)
    template.full_clean()
    wanted = _conditions_checked(TemplateCondition, conditions, template=template)
    if in_review:
        changed = [name for name, value in before.items() if getattr(template, name) != value]
        if wanted is not None:
            stored = [(c.fact, c.operator, c.value) for c in template.conditions.all()]
            if _conditions_meaning(wanted) != _conditions_meaning(stored):
                changed.append("conditions")
            else:  # the same sent again (the page's checkboxes write "is one of" their own way): kept as written
                wanted = None
        refusals = {name: policy.can_change_setting(template, name, in_review=True) for name in changed}
        if errors := {name: str(decision.reason) for name, decision in refusals.items() if not decision}:
            raise ValidationError(errors)
    template.save()
    if wanted is not None:
        _conditions_set(TemplateCondition, wanted, template=template)
    return template


def _conditions_meaning(rows: Iterable[ConditionSpec]) -> Counter:
    """Conditions as what they say, however their values are written: "home,clinic" and
    "clinic, home" are one "is one of", 45 and 45.0 one number."""
    meaning: Counter = Counter()
    for fact, operator, value in rows:
        parsed = parse_value(fact, operator, value)
        meaning[(fact, operator, frozenset(parsed) if operator == "in" else parsed)] += 1
    return meaning


@audited(AuditEvent.Action.CREATE)
@transaction.atomic
def template_create(*, values: Mapping[str, Any], conditions: Sequence[ConditionSpec] = (), actor) -> ChecklistTemplate:
    """A new template, without versions: its first draft is made with template_version_new_draft."""
    return _template_write(template=ChecklistTemplate(), values=values, conditions=conditions)


def template_fingerprint(template: ChecklistTemplate) -> str:
    """What a template's settings say now (its fields and conditions), in a short text that
    changes whenever any of them does: the settings page sends back the one it showed."""
    said = {
        "fields": {name: str(getattr(template, name)) for name in TEMPLATE_FIELDS},
        "conditions": sorted(
            (c.fact, c.operator, c.value) for c in TemplateCondition.objects.filter(template=template)
        ),
    }
    return hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()[:32]


def template_version_fingerprint(version: TemplateVersion) -> str:
    """What a draft would publish now: each of its items (template_item_fingerprint) and its
    template's settings (template_fingerprint), in a short text that changes whenever any of it
    does (an item added, changed or removed; a condition or dependency; a setting): the review
    page's emergency form sends back the one it showed."""
    items = version.items.prefetch_related("conditions", "depends_on")
    said = {
        "items": sorted((item.pk, template_item_fingerprint(item)) for item in items),
        "template": template_fingerprint(version.template),
    }
    return hashlib.sha256(json.dumps(said, sort_keys=True).encode()).hexdigest()[:32]


SETTINGS_CHANGED_MEANWHILE = (
    "Another admin changed these settings while you were editing them; nothing of yours is saved. "
    "The fields below are still yours: compare them with the settings now, then save again to replace them."
)


@audited(AuditEvent.Action.UPDATE)
@transaction.atomic
def template_update(
    *,
    template: ChecklistTemplate,
    values: Mapping[str, Any],
    conditions: Sequence[ConditionSpec] | None = None,
    seen: str | None = None,
    actor,
) -> ChecklistTemplate:
    """Change a template's settings; its conditions become exactly those given (None leaves them).

    While one of its versions is in review, what the review is approved under (who approves it,
    which events it goes to: policy.can_change_setting) is refused at its field; the draft is
    returned first, then submitted again under the new settings. `seen`: the settings' fingerprint
    when the page showed them; if another admin changed them since, the change is refused (code
    "changed_meanwhile") rather than written over theirs unseen."""
    template = ChecklistTemplate.objects.select_for_update(no_key=True).get(pk=template.pk)
    if seen is not None and seen != template_fingerprint(template):
        raise ValidationError(SETTINGS_CHANGED_MEANWHILE, code="changed_meanwhile")
    in_review = template.versions.filter(status=TemplateVersion.Status.IN_REVIEW).exists()
    if "approver_role" in values and not in_review:  # in review, the review's own rule refuses first
        policy.can_change_approver(actor, template, values["approver_role"] or "").enforce()
    return _template_write(template=template, values=values, conditions=conditions, in_review=in_review)


# --- instantiation -------------------------------------------------------------------------


@transaction.atomic
def checklists_instantiate(*, events: Sequence[CareEvent]) -> list[Checklist]:
    """Pin each event's triggered, published templates as checklists with one task per item.

    Idempotent (one checklist per event and template) and in a constant number of queries,
    whatever the number of events and items.
    """
    event_ids = [event.pk for event in events if event.status != CareEvent.Status.CANCELLED]
    if not event_ids:
        return []
    # Lock the events (in id order, so two callers cannot deadlock): a second instantiation of
    # the same event waits, then finds the first one's checklists instead of colliding with them.
    return _instantiate_locked(list(_events_locked(pk__in=event_ids)))


def _events_locked(**lookups):
    """Events locked in id order, with what their conditions and their premedication tasks read."""
    return (
        CareEvent.objects.select_for_update(no_key=True, of=("self",))
        .filter(**lookups)
        .select_related("patient__unit", "cycle__course__regimen_version")
        .prefetch_related("cycle__course__regimen_version__premedications", "cycle__course__interruptions__cycle")
        .order_by("pk")
    )


def _instantiate_locked(events: list[CareEvent], *, templates: QuerySet | None = None) -> list[Checklist]:
    """checklists_instantiate for events that the caller has locked and loaded (`_events_locked`):
    checklists_refresh holds them already, and a second read of every event was a third of its time.
    `templates`: only these (a queryset of template ids), where not every template may be made."""
    if not events:
        return []
    event_ids = [event.pk for event in events]
    items = TemplateItem.objects.prefetch_related("conditions", "depends_on").order_by("order")
    published = TemplateVersion.objects.filter(
        status=TemplateVersion.Status.PUBLISHED,
        template__is_active=True,
        template__trigger_kind__in={event.kind for event in events},
    )
    if templates is not None:
        published = published.filter(template__in=templates)
    versions_by_kind = defaultdict(list)
    for version in published.select_related("template").prefetch_related(
        "template__conditions", Prefetch("items", queryset=items)
    ):
        versions_by_kind[version.template.trigger_kind].append(version)
    existing = set(Checklist.objects.filter(event_id__in=event_ids).values_list("event_id", "template_id"))

    plans = []
    for event in events:
        for version in versions_by_kind[event.kind]:
            if (event.pk, version.template_id) in existing:
                continue
            if not all(condition.holds_for(event) for condition in version.template.conditions.all()):
                continue
            applicable = [i for i in version.items.all() if all(c.holds_for(event) for c in i.conditions.all())]
            made_under = [[c.fact, c.operator, c.value] for c in version.template.conditions.all()]
            checklist = Checklist(
                event=event, template=version.template, version=version, template_conditions=made_under
            )
            plans.append((checklist, event, applicable))
    if not plans:
        return []

    Checklist.objects.bulk_create([checklist for checklist, _, _ in plans])
    tasks_by_item = {
        (checklist.pk, item.pk): _new_task(checklist, event, item)
        for checklist, event, items in plans
        for item in items
    }
    Task.objects.bulk_create(tasks_by_item.values())
    through = Task.depends_on.through
    through.objects.bulk_create(
        through(from_task_id=tasks_by_item[(checklist.pk, item.pk)].pk, to_task_id=dependency.pk)
        for checklist, _, items in plans
        for item in items
        for dep in item.depends_on.all()
        if (dependency := tasks_by_item.get((checklist.pk, dep.pk)))
    )
    return [checklist for checklist, _, _ in plans]


def _new_task(checklist: Checklist, event: CareEvent, item: TemplateItem) -> Task:
    """The task of `item` in `checklist`: the item's content, a snapshot, due at its offset."""
    task = Task(
        checklist=checklist,
        item=item,
        patient_id=event.patient_id,
        event=event,
        due_at=event.planned_at + dt.timedelta(minutes=item.due_offset_minutes),
        **{f: getattr(item, f) for f in ITEM_CONTENT_FIELDS},
    )
    if item.records == TemplateItem.Records.PREMEDICATION_TIME:
        task.help_text = _premedication_help(event, item.help_text)
    return task


# Why a task left its checklist, or came back to it, when its item's conditions were asked again.
NO_LONGER_APPLIES = "No longer applies: {conditions} (asked again after a change to the record)."
APPLIES_AGAIN = "Applies again: {conditions} (asked again after a change to the record)."


@transaction.atomic
def checklists_refresh(*, events: Sequence[CareEvent]) -> dict[str, int]:
    """Ask the conditions of the planned events' checklists again, after a fact they read changed
    (a new weighing, a restart that makes a cycle start at the restart dose): checklists are made
    when the course is planned, months before a later cycle, and the weight then is not today's.

    A checklist keeps its pinned version. A task applies when its template's conditions and its
    item's hold: an item that now applies gets its task (a task cancelled by an earlier refresh
    opens again); an open task whose item or template no longer applies is cancelled, with the
    reason in its history. Done and not-applicable tasks are history and stay as they are. A
    template that now applies to an event is instantiated. Returns the counts.

    The template's conditions are those the checklist was made under (`Checklist.template_conditions`),
    as its items' are its pinned version's: a change of the template's own conditions applies to the
    checklists made from then on, never to an existing one at some later weighing."""
    event_ids = [event.pk for event in events]
    events = list(_events_locked(pk__in=event_ids, status=CareEvent.Status.PLANNED))
    _instantiate_locked(events)
    checklists = list(Checklist.objects.filter(event__in=events))
    # Each version's items once, and the tasks grouped here rather than by prefetch_related, which
    # builds a filtered queryset per checklist and per version: hundreds on a rebuild after a break.
    items_by_version = defaultdict(list)
    for item in (
        TemplateItem.objects.filter(version_id__in={checklist.version_id for checklist in checklists})
        .prefetch_related("conditions", "depends_on")
        .order_by("order")
    ):
        items_by_version[item.version_id].append(item)
    # The tasks are read under their row locks (after the events', the order of task_complete,
    # task_undo and event_cancel): a completion committed meanwhile is read as done and stays done,
    # where the bulk update below once overwrote it (to cancelled, hiding a failed hard stop).
    # Only the fields this reads and writes: a rebuild reads thousands of tasks of ~35 columns.
    tasks_by_checklist = defaultdict(dict)
    for task in (
        Task.objects.select_for_update(no_key=True, of=("self",))
        .filter(checklist__in=checklists)
        .only("checklist", "item", "status", "assignee", "due_at", "due_offset_minutes")
        .order_by("pk")
    ):
        tasks_by_checklist[task.checklist_id][task.item_id] = task
    event_by_id = {event.pk: event for event in events}
    added, reopened, cancelled, activities, worked = [], [], [], [], []
    for checklist in checklists:
        event = event_by_id[checklist.event_id]
        tasks = tasks_by_checklist[checklist.pk]
        template_conditions = checklist.conditions_made_under
        template_applies = all(condition.holds_for(event) for condition in template_conditions)
        for item in items_by_version[checklist.version_id]:
            conditions = [*template_conditions, *item.conditions.all()]
            applies = template_applies and all(condition.holds_for(event) for condition in item.conditions.all())
            task = tasks.get(item.pk)
            if applies and task is None:
                tasks[item.pk] = _new_task(checklist, event, item)
                added.append(tasks[item.pk])
            elif applies and task.status == Task.Status.CANCELLED:
                reopened.append(task)
                activities.append(_opened_again(task, event, conditions))
            elif not applies and task is not None and task.status == Task.Status.OPEN:
                cancelled.append(task)
                activities.append(_cancelled_for_conditions(task, event, conditions))
        worked.append((checklist, tasks))
    Task.objects.bulk_create(added)
    Task.objects.bulk_update(reopened + cancelled, ["status", "assignee", "due_at"])
    TaskActivity.objects.bulk_create(activities)
    # An added task waits for what its item waits for, and the tasks of the items that wait for it
    # wait for it (an edge that the checklist's tasks already had is left as it is).
    new = {id(task) for task in added}
    through = Task.depends_on.through
    through.objects.bulk_create(
        [
            through(from_task_id=tasks[item.pk].pk, to_task_id=tasks[earlier.pk].pk)
            for checklist, tasks in (worked if added else ())
            for item in items_by_version[checklist.version_id]
            for earlier in item.depends_on.all()
            if item.pk in tasks and earlier.pk in tasks and (id(tasks[item.pk]) in new or id(tasks[earlier.pk]) in new)
        ],
        ignore_conflicts=True,
    )
    return {"added": len(added), "reopened": len(reopened), "cancelled": len(cancelled)}


def _opened_again(task: Task, event: CareEvent, conditions: Sequence[ConditionRow]) -> TaskActivity:
    """A cancelled task whose template and item apply again opens, due where its item says (a
    cancelled task did not follow its event's moves); its history says why."""
    task.status = Task.Status.OPEN
    task.due_at = event.planned_at + dt.timedelta(minutes=task.due_offset_minutes)
    return _refresh_activity(task, event, APPLIES_AGAIN, conditions)


def _cancelled_for_conditions(task: Task, event: CareEvent, conditions: Sequence[ConditionRow]) -> TaskActivity:
    """An open task whose template or item no longer applies is cancelled (and let go); its history
    says why."""
    task.status, task.assignee = Task.Status.CANCELLED, None
    return _refresh_activity(task, event, NO_LONGER_APPLIES, conditions)


def _refresh_activity(task: Task, event: CareEvent, said: str, conditions: Sequence[ConditionRow]) -> TaskActivity:
    """The task's history says which of `conditions` (its template's, then its item's) now fail it
    (or, applying again, all of them)."""
    named = [c for c in conditions if said == APPLIES_AGAIN or not c.holds_for(event)]
    conditions = " and ".join(str(condition) for condition in named)
    return TaskActivity(
        task=task,
        checklist_id=task.checklist_id,
        patient_id=event.patient_id,
        action=TaskActivity.Action.CONDITIONS,
        detail=said.format(conditions=conditions)[:1000],
    )


# The condition fact that says whether another cycle follows the event's (checklists.conditions).
NEXT_CYCLE_FACT = "next_cycle"


def next_cycle_work_follow(*, events: Sequence[CareEvent]) -> dict[str, int]:
    """The work for a next cycle (the tasks of items, or of whole templates, that ask the condition
    fact `next_cycle`) of events already done or missed, after their course's next cycle changed: a
    stop for good, or cycles planned again or fewer. A refresh asks planned events only, and rightly
    (an event that happened keeps the facts of its time), but whether another cycle follows is
    decided after a cycle's end, by the end-of-cycle marrow and MRD results: so here, and only for
    this work, an open task is cancelled when the next cycle is gone (its template's or its item's
    `next_cycle` conditions fail), and made (or opened again) when it comes back and its template's
    and item's other conditions hold. The template's conditions are those its checklist was made
    under, as in checklists_refresh. Planned and cancelled events are left to the refresh. Returns
    the counts."""
    asking_items = ItemCondition.objects.filter(fact=NEXT_CYCLE_FACT).values("item_id")
    asking_templates = TemplateCondition.objects.filter(fact=NEXT_CYCLE_FACT).values("template_id")
    triggering_such_templates = ChecklistTemplate.objects.filter(pk__in=asking_templates, is_active=True).values(
        "trigger_kind"
    )
    # The events with a checklist (its items, or its template's pinned conditions, may ask it) or
    # that a template asking it may now be made for: locked and read (a stop for good passes every
    # event of the course).
    settled = list(
        _events_locked(pk__in=[event.pk for event in events])
        .filter(models.Q(pk__in=Checklist.objects.values("event_id")) | models.Q(kind__in=triggering_such_templates))
        .exclude(status__in=(CareEvent.Status.PLANNED, CareEvent.Status.CANCELLED))
    )
    # A template asking it that did not apply (the last cycle's end) is made when it applies now;
    # no other template is made on an event that happened (its facts are those of its time).
    _instantiate_locked(settled, templates=asking_templates)
    event_by_id = {event.pk: event for event in settled}
    checklists = list(Checklist.objects.filter(event__in=list(event_by_id)))
    pinned = {checklist.pk: checklist.conditions_made_under for checklist in checklists}
    # A checklist whose template asked it puts every item in question; otherwise only the items that ask it.
    whole = {pk for pk, conditions in pinned.items() if any(c.fact == NEXT_CYCLE_FACT for c in conditions)}
    versions_whole = {checklist.version_id for checklist in checklists if checklist.pk in whole}
    items_by_version = defaultdict(list)
    for item in (
        TemplateItem.objects.filter(version_id__in={c.version_id for c in checklists})
        .filter(models.Q(pk__in=asking_items) | models.Q(version_id__in=versions_whole))
        .prefetch_related("conditions")
    ):
        items_by_version[item.version_id].append(item)
    tasks = {
        (task.checklist_id, task.item_id): task
        for task in Task.objects.select_for_update(no_key=True, of=("self",))
        .filter(models.Q(item__in=asking_items) | models.Q(checklist__in=whole), checklist__in=checklists)
        .only("checklist", "item", "status", "assignee", "due_at", "due_offset_minutes")
        .order_by("pk")
    }
    added, changed, activities = [], [], []
    for checklist in checklists:
        event = event_by_id[checklist.event_id]
        for item in items_by_version[checklist.version_id]:
            conditions = [*pinned[checklist.pk], *item.conditions.all()]
            deciding = [c for c in conditions if c.fact == NEXT_CYCLE_FACT]
            if not deciding:
                continue  # an item of a version that another checklist's template asked it of
            task = tasks.get((checklist.pk, item.pk))
            if not all(c.holds_for(event) for c in deciding):
                if task is not None and task.status == Task.Status.OPEN:
                    changed.append(task)
                    activities.append(_cancelled_for_conditions(task, event, deciding))
            elif all(c.holds_for(event) for c in conditions):
                if task is None:
                    added.append(_new_task(checklist, event, item))
                elif task.status == Task.Status.CANCELLED:
                    changed.append(task)
                    activities.append(_opened_again(task, event, conditions))
    Task.objects.bulk_create(added)
    Task.objects.bulk_update(changed, ["status", "assignee", "due_at"])
    TaskActivity.objects.bulk_create(activities)
    return {"added": len(added), "changed": len(changed)}


def _premedication_help(event: CareEvent, help_text: str) -> str:
    """A premedication task names what the course's regimen asks for (a snapshot, like its text)."""
    rule = premedication_for_event(event)
    if rule is None:
        return help_text
    said = f"{rule.medication}, {rule.window_text} ({event.cycle.course.regimen_version.source})."
    return f"{said} {help_text}".strip()


def on_events_changed(
    *,
    created: Sequence[CareEvent],
    moved: Sequence[CareEvent],
    cancelled: Sequence[CareEvent],
    facts: Sequence[CareEvent] = (),
):
    """The patients layer's hook: keep checklists in step with their events."""
    checklists_instantiate(events=created)
    tasks_follow_events(events=moved)
    overrides_lift(events=moved)
    tasks_cancel_for_events(events=cancelled)
    # A moved event's facts moved with it: a break that moves a bag change shifts its day of the
    # cycle (and may move it out of the hospital days), so its conditions are asked again too, or
    # an item conditioned on the day stays on the wrong bag change.
    refreshed = list({event.pk: event for event in [*moved, *facts]}.values())
    if refreshed:
        checklists_refresh(events=refreshed)
    # Of events already done or missed, only whether a next cycle follows is asked again; a
    # weighing's facts (planned events only) cost no query here.
    settled = [event for event in facts if event.status not in (CareEvent.Status.PLANNED, CareEvent.Status.CANCELLED)]
    if settled:
        next_cycle_work_follow(events=settled)


def on_bag_recorded(*, bag, actor) -> None:
    """The patients layer's hook: a bag recorded for an event replaces the one before it
    (patients.services.bag_for_event). A "Pump rate entered" answer that passed against the earlier
    bag's label and differs from the new label's rate is reopened, with the tasks done after it that
    depend on it (the independent double-check of that rate): left done, the gate would say ready
    while the pump runs the new bag at the old rate. The event is locked by the caller."""
    answered = Task.objects.select_for_update(no_key=True, of=("self",)).filter(
        event_id=bag.event_id,
        records__in=[TemplateItem.Records.PUMP_RATE, TemplateItem.Records.BAG_DURATION],
        status=Task.Status.DONE,
        hard_stop_failed=False,
    )
    new_rate = f"{bag.rate_ml_per_hour.normalize():f} mL/h"
    for task in answered.order_by("pk"):
        if task.records == TemplateItem.Records.BAG_DURATION:
            # The bag duration on the label, checked against the bag it replaced, likewise.
            if bag_duration_hours(task.value) == bag.duration_hours:
                continue
            reason = (
                f"A new {bag.duration_hours} h bag was recorded for this event; the duration {task.value} was "
                "checked against the bag it replaced: answer again."
            )
        elif Decimal(task.value.split()[0]) == bag.rate_ml_per_hour:
            continue
        else:
            reason = (
                f"A new bag at {new_rate} was recorded for this event; the pump rate {task.value} was checked "
                "against the bag it replaced: enter the pump rate again."
            )
        for reopened in [
            task,
            *task.dependents.select_for_update(no_key=True, of=("self",)).filter(status=Task.Status.DONE),
        ]:
            undone = reopened.value
            _reopen(reopened)
            _log(reopened, actor, TaskActivity.Action.UNDO, f"{undone}: {reason}", now=bag.recorded_at)


def on_restart_moved(*, interruption, moved_from: dt.datetime, actor) -> None:
    """The patients layer's hook: a planned restart moved. The patient's history says who moved it,
    from when to when, on the restart event's checklist (or, for a restart without one, the stop's)."""
    stop_event = CareEvent.objects.filter(
        cycle_id=interruption.cycle_id, kind=CareEvent.Kind.INTERRUPTION, planned_at=interruption.stopped_at
    )
    checklist = (
        Checklist.objects.filter(event_id=interruption.restart_event_id).order_by("pk").first()
        or Checklist.objects.filter(event__in=stop_event).order_by("pk").first()
    )
    if checklist is None:
        return  # no checklist to carry the line; the audit log keeps the change
    zone = interruption.patient.unit.zone
    stopped, was = moments.moment_short(interruption.stopped_at, zone), moments.moment_short(moved_from, zone)
    now = moments.moment_short(interruption.restarted_at, zone)
    TaskActivity.objects.create(
        checklist=checklist,
        patient_id=interruption.patient_id,
        actor=actor,
        action=TaskActivity.Action.MOVE,
        detail=f"Restart after the stop of {stopped} moved from {was} to {now}",
    )


def tasks_follow_events(*, events: Sequence[CareEvent]) -> int:
    """A moved event moves its open tasks, keeping each one's offset.

    One UPDATE computed in the database (the event's new time plus the task's offset): a
    rebuild after a break moves thousands of tasks, and a bulk_update's CASE per row cost
    seconds (docs/performance.md, "Rebuilding a course after a break").
    """
    event_ids = [event.pk for event in events]
    if not event_ids:
        return 0
    planned_at = CareEvent.objects.filter(pk=OuterRef("event_id")).values("planned_at")[:1]
    offset = ExpressionWrapper(F("due_offset_minutes") * dt.timedelta(minutes=1), output_field=DurationField())
    return Task.objects.filter(event_id__in=event_ids, status=Task.Status.OPEN).update(
        due_at=ExpressionWrapper(Subquery(planned_at) + offset, output_field=DateTimeField())
    )


def tasks_cancel_for_events(*, events: Sequence[CareEvent]) -> int:
    return Task.objects.filter(event__in=events, status=Task.Status.OPEN).update(status=Task.Status.CANCELLED)


# --- tasks ---------------------------------------------------------------------------------


# A task read by the page, gone by the time its action takes the lock: a publication replaced its
# untouched checklist, or a shortened plan took its event off.
TASK_GONE = (
    "This task is no longer on the record: its checklist was replaced by a new version of the template, "
    "or its event was taken off the plan. Reload the page to see the work as it is now."
)


def _locked(task: Task) -> Task:
    # Lock the task row only ("self"). The users (completer, verifier, assignee) are not joined here:
    # after waiting for the lock PostgreSQL re-reads the task row but not the joined rows, so the
    # loser of a race would see completed_by_id set and completed_by None. They load on access.
    try:
        return Task.objects.select_for_update(no_key=True, of=("self",)).select_related("patient__unit").get(pk=task.pk)
    except Task.DoesNotExist:
        raise TaskConflict(TASK_GONE) from None


def _locked_event(task: Task) -> CareEvent:
    """The task's event, locked (before its tasks, as every path locks them)."""
    try:
        return CareEvent.objects.select_for_update(no_key=True).get(pk=task.event_id)
    except CareEvent.DoesNotExist:
        raise TaskConflict(TASK_GONE) from None


def overrides_lift(*, events: Sequence[CareEvent]) -> int:
    """A moved event's overrides no longer cover anything: the oncologist judged the start safe at
    its time then ("potassium pending, the lab will call by 14:00"), not at another time days
    later. What blocks is listed again, so that an oncologist decides anew. The override's reason,
    author and time stay on the checklist (the board and the unit report count overrides given)
    and the history says when and why it was lifted. Returns how many were lifted."""
    lifted = list(
        Checklist.objects.filter(event__in=[event.pk for event in events], override_reason__gt="")
        .exclude(overridden_blockers=[])
        .select_related("event__patient__unit")
    )
    if not lifted:
        return 0
    for checklist in lifted:
        checklist.overridden_blockers = []
    Checklist.objects.bulk_update(lifted, ["overridden_blockers"])
    now = timezone.now()
    TaskActivity.objects.bulk_create(
        TaskActivity(
            checklist=checklist,
            patient_id=checklist.event.patient_id,
            action=TaskActivity.Action.OVERRIDE_LIFTED,
            detail=f"The event moved to {moments.moment(checklist.event.planned_at, checklist.event.zone)}: "
            "what blocks it needs a new decision.",
            at=now,
        )
        for checklist in lifted
    )
    return len(lifted)


def _log(task: Task, actor, action: str, detail: str = "", now=None) -> None:
    TaskActivity.objects.create(
        task=task,
        checklist_id=task.checklist_id,
        patient_id=task.patient_id,
        actor=actor,
        action=action,
        detail=detail[:1000],
        at=now or timezone.now(),
    )


@audited(ChecklistAuditAction.CLAIM)
@transaction.atomic
def task_claim(*, task: Task, actor) -> Task:
    task = _locked(task)
    decision = policy.can_claim(actor, task)
    if decision is policy.CLAIMED_BY_YOU:
        return task  # a second click, or a second tab: the task is the actor's already
    decision.enforce()
    task.assignee = actor
    task.save(update_fields=["assignee"])
    _log(task, actor, TaskActivity.Action.CLAIM)
    return task


@audited(ChecklistAuditAction.RELEASE)
@transaction.atomic
def task_release(*, task: Task, actor) -> Task:
    task = _locked(task)
    decision = policy.can_release(actor, task)
    if (
        not decision
        and task.status == Task.Status.OPEN
        and task.assignee_id is None
        and _last_activity(task, actor, TaskActivity.Action.RELEASE)
    ):
        # Released by this very person, and nobody has claimed it since: a retry, answered as the
        # first request was (theirs no longer, it would otherwise be refused as not theirs to release).
        return task
    decision.enforce()
    task.assignee = None
    task.save(update_fields=["assignee"])
    _log(task, actor, TaskActivity.Action.RELEASE)
    return task


@audited(ChecklistAuditAction.RELEASE)
@transaction.atomic
def tasks_let_go(*, user, actor, why: str, now: dt.datetime | None = None) -> int:
    """Give back to the pool the open tasks that `user` holds and can no longer work as they now
    stand: all of them once deactivated, those of a role other than theirs after a role change (a
    membership counts in its user's current role: policy.on_care_team). Held by someone who cannot
    work them, they were in nobody's My work and nobody could claim them; in the pool, the team
    finds them (and is reminded of them, as it already was). Each task's history says who had it
    and why it came back. Done work stays theirs. Returns how many were given back."""
    held = Task.objects.filter(assignee_id=user.pk, status=Task.Status.OPEN)
    if user.is_active:
        held = held.exclude(role=user.role)
    return _give_back(held, actor=actor, detail=f"Back to the pool: {user} was {why}.", now=now)


def tasks_let_go_of_patient(*, user, patient, actor, now: dt.datetime | None = None) -> int:
    """Give back to the pool the open tasks that `user` holds for `patient`, whose care team they
    have just left (patients.hooks): they can no longer work them, and nobody else could claim
    them while they held them. Returns how many were given back."""
    held = Task.objects.filter(assignee_id=user.pk, patient_id=patient.pk, status=Task.Status.OPEN)
    return _give_back(held, actor=actor, detail=f"Back to the pool: {user} left the care team.", now=now)


def _give_back(held: QuerySet[Task], *, actor, detail: str, now: dt.datetime | None) -> int:
    now = now or timezone.now()
    # Each task under its row lock, in id order as every path takes them: one completed at this
    # very moment is no longer open and is left alone.
    tasks = list(held.select_for_update(no_key=True, of=("self",)).order_by("pk"))
    Task.objects.filter(pk__in=[task.pk for task in tasks]).update(assignee=None)
    TaskActivity.objects.bulk_create(
        TaskActivity(
            task=task,
            checklist_id=task.checklist_id,
            patient_id=task.patient_id,
            actor=actor,
            action=TaskActivity.Action.RELEASE,
            detail=detail[:1000],
            at=now,
        )
        for task in tasks
    )
    return len(tasks)


@audited(ChecklistAuditAction.REASSIGN)
@transaction.atomic
def task_reassign(*, task: Task, assignee, reason: str, actor, seen: str | None = None) -> Task:
    """Give an open task to another member of its care team. `seen`: the task's `state_version` as
    the coordinator's page drew it; claimed or released by someone since, it is refused."""
    task = _locked(task)
    policy.can_reassign(actor, task).enforce()
    policy.seen_unchanged(actor, task, seen, action="reassigned").enforce()
    if not reason.strip():
        raise ValidationError({"reason": "Say why the task is reassigned."})
    policy.can_be_assigned(assignee, task).enforce()
    previous = task.assignee
    task.assignee = assignee
    task.save(update_fields=["assignee"])
    _log(task, actor, TaskActivity.Action.REASSIGN, f"{previous or 'pool'} → {assignee}: {reason.strip()}")
    return task


def parse_task_value(task: Task, raw) -> tuple[str, bool]:
    """The value to store and whether it fails the hard stop; ValidationError when refused."""
    raw = "" if raw is None else str(raw).strip()
    if "\x00" in raw:
        # PostgreSQL's text cannot hold it (a DataError, a 500): refused as every form field refuses it.
        raise ValidationError({"value": ProhibitNullCharactersValidator.message})
    kind = TemplateItem.ResponseKind
    if task.response_kind == kind.CHECKBOX:
        if raw.lower() not in TRUE_VALUES:
            raise ValidationError({"value": "Tick the box to complete this task."})
        return "yes", False
    if task.response_kind == kind.ATTESTATION:
        if raw.lower() != ATTESTATION_VALUE:
            raise ValidationError({"value": "Confirm the attestation to complete this task."})
        return ATTESTATION_VALUE, False
    if task.response_kind == kind.TEXT:
        if not raw:
            raise ValidationError({"value": "Enter a value."})
        if len(raw) > 1000:
            raise ValidationError({"value": "At most 1,000 characters."})
        return raw, False
    if task.response_kind == kind.CHOICE:
        if raw not in task.choices:
            raise ValidationError({"value": f"Choose one of: {', '.join(task.choices)}."})
        return raw, task.hard_stop and raw in task.failing_choices
    if task.response_kind == kind.DATETIME:
        if not raw:
            raise ValidationError({"value": "Give the date and time."})
        parse_datetime_answer(task, raw)
        return raw, False
    if not PLAIN_NUMBER.fullmatch(raw):
        raise ValidationError({"value": _number_refusal(raw)})
    if grouped := THOUSANDS_OR_DECIMAL.fullmatch(raw):
        # 2,800: a thousand times what a writer of decimal commas means; asked, never guessed.
        sign, whole, part = grouped.groups()
        as_decimal = f"{Decimal(f'{whole}.{part}').normalize():f}"
        raise ValidationError(
            {"value": f"“{raw}”: a comma before three digits can group thousands or mark decimals. "
             f"Write {sign}{whole}{part} or {sign}{as_decimal}."}
        )  # fmt: skip
    number = Decimal(raw.replace(",", "."))
    out_of_range = (task.min_value is not None and number < task.min_value) or (
        task.max_value is not None and number > task.max_value
    )
    if out_of_range and (not task.hard_stop or task.records == TemplateItem.Records.WEIGHT):
        # A weight out of its limits is a typo far more often than a patient: refuse it.
        raise ValidationError({"value": f"Must be {task.limits_text}."})
    unit = f" {task.unit}" if task.unit else ""
    return f"{number.normalize():f}{unit}", out_of_range


def _number_refusal(raw: str) -> str:
    """Why `raw` is not a number PLAIN_NUMBER takes, in the words that help to correct it."""
    digits = LONG_NUMBER.fullmatch(raw)
    if digits is None:
        return NOT_A_NUMBER
    if len(digits.group(1)) > 8:
        return TOO_MANY_DIGITS
    return TOO_MANY_DECIMALS


# The code of the refusal that asks to confirm an answer failing a hard stop (the row then offers
# "Record … anyway"): a typo (650 for 65.0 kg) is far likelier than the patient.
UNCONFIRMED_HARD_STOP = "unconfirmed_hard_stop"


def hard_stop_failure_text(task: Task, stored: str) -> str:
    """Why this answer fails the task's hard stop, in words."""
    if task.response_kind == TemplateItem.ResponseKind.NUMBER and task.limits_text and not task.records:
        return f"{stored} is outside {task.limits_text}"
    if task.response_kind == TemplateItem.ResponseKind.CHOICE:
        return f"“{stored}” fails this check"
    return f"{stored} fails this check"


@audited(AuditEvent.Action.COMPLETE)
@transaction.atomic
def task_complete(*, task: Task, actor, value=None, confirmed: bool = False, now: dt.datetime | None = None) -> Task:
    """Record the answer. One that fails the hard stop is refused unless `confirmed` (the user saw
    why and chose to record it): recorded, it blocks the event, and the oncologist is told."""
    now = now or timezone.now()
    # Locks in the order of the other paths: the patient, then the event, then the task. A weight
    # becomes the record's weight, and the weighing locks the patient, then asks the conditions of
    # the patient's planned events again under their locks (weighing_record, checklists_refresh);
    # event_cancel and task_undo lock the event before its tasks. Taking the task first deadlocked
    # a weight answered while its event was cancelled.
    if task.records == TemplateItem.Records.WEIGHT:
        Patient.objects.select_for_update(no_key=True).only("pk").get(pk=task.patient_id)
    _locked_event(task)
    task = _locked(task)
    decision = policy.can_complete(actor, task)
    # Refused for the task's state (a conflict), not the person: a worker of the task who completed
    # it already. With the very same answer that is a second click, or an API client retrying a
    # request whose answer it lost: done as it asks, so answered as the first was, changing nothing.
    if getattr(decision, "error", None) is TaskConflict and _completed_so_by(task, actor, value, now):
        return task
    decision.enforce()
    stored, failed = parse_task_value(task, value)
    if task.records:
        stored, failed_check = check_recorded_answer(task, stored, now=now)
        failed = failed or failed_check
    if task.records and not confirmed and (question := recorded_answer_question(task, stored, now=now)):
        # The typo guard's shape for an answer the record keeps (7.0 typed for 70 kg): asked about,
        # and taken as it is when confirmed; it fails no hard stop.
        raise ValidationError({"value": ValidationError(question, code=UNCONFIRMED_HARD_STOP)})
    if failed and not confirmed:
        raise ValidationError(
            {
                "value": ValidationError(
                    f"{hard_stop_failure_text(task, stored)}: recorded, it fails the hard stop and blocks "
                    f"the {task.event.get_kind_display().lower()}. Check it and enter it again, or record it anyway.",
                    code=UNCONFIRMED_HARD_STOP,
                )
            }
        )
    waiting = [_waiting_for(dep) for dep in task.depends_on.all() if not dep.releases_dependents]
    if waiting:
        raise ValidationError({"value": f"First: {'; '.join(waiting)}."})
    task.status = Task.Status.DONE
    task.value, task.hard_stop_failed = stored, failed
    task.completed_by, task.completed_at = actor, now
    task.assignee = task.assignee or actor
    task.save(update_fields=["status", "value", "hard_stop_failed", "completed_by", "completed_at", "assignee"])
    keep_recorded_answer(task, actor=actor, now=now)
    action = TaskActivity.Action.HARD_STOP if failed else TaskActivity.Action.COMPLETE
    _log(task, actor, action, stored, now)
    if failed:
        notify_hard_stop_failed(task=task, actor=actor)
    return task


def _completed_so_by(task: Task, actor, value, now: dt.datetime) -> bool:
    """The task is done by `actor`, with the answer that `value` would record: completing it so
    again is a retry of that completion. Another answer is not."""
    if task.status != Task.Status.DONE or task.completed_by_id != actor.pk:
        return False
    try:
        stored, _ = parse_task_value(task, value)
        if task.records:
            stored, _ = check_recorded_answer(task, stored, now=now)
    except ValidationError:
        return False
    return stored == task.value


def _waiting_for(dependency: Task) -> str:
    """A dependency that holds its dependents back, and why when it is done already."""
    if dependency.status == Task.Status.DONE and dependency.hard_stop_failed:
        return f"{dependency.text} (its hard stop failed)"
    if dependency.awaits_verification:
        return f"{dependency.text} (awaiting its independent check)"
    return dependency.text


@audited(ChecklistAuditAction.VERIFY)
@transaction.atomic
def task_verify(*, task: Task, actor, seen: str | None = None, now: dt.datetime | None = None) -> Task:
    """The independent check of the completion that the verifier saw (`seen`: the task's
    `state_version` as their page or API read drew it): one undone and answered again since, even
    with the same answer, is refused, and the verifier is told what it is now."""
    now = now or timezone.now()
    task = _locked(task)
    if (
        task.status == Task.Status.DONE
        and task.verified_by_id is not None
        and task.verified_by_id == actor.pk
        and policy.is_verifier(actor, task)
    ):
        # A second click, or an API client retrying a request whose answer it lost: verified by
        # this very person already, so answered as the first was, changing nothing. Only while
        # they may still verify it: one taken off the care team since is refused as anyone else.
        return task
    policy.can_verify(actor, task).enforce()
    policy.seen_unchanged(actor, task, seen, action="verified").enforce()
    task.verified_by, task.verified_at = actor, now
    task.save(update_fields=["verified_by", "verified_at"])
    _log(task, actor, TaskActivity.Action.VERIFY, now=now)
    return task


@audited(ChecklistAuditAction.UNDO)
@transaction.atomic
def task_undo(*, task: Task, actor, reason: str, seen: str | None = None) -> Task:
    """Reopen a completed or not-applicable task; the history keeps what was undone and why.
    `seen`: the task's `state_version` as the user's page or API read drew it: an answer given
    since (undone and completed again, verified) is not theirs to undo unseen, and is refused."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the completion is undone."})
    # The event first, as its cancellation locks it before cancelling its open tasks: an undo at
    # that very moment waits, then sees the event cancelled, and reopens nothing it would miss.
    event = _locked_event(task)
    task = _locked(task)
    task.event = event
    decision = policy.can_undo(actor, task)
    # Open again, and the last thing done to it was this very undo by this very person: a second
    # click, or an API client retrying a request whose answer it lost. Answered as the first was.
    if getattr(decision, "error", None) is TaskConflict and task.status == Task.Status.OPEN:
        last = _last_activity(task, actor, TaskActivity.Action.UNDO)
        if last is not None and last.detail.endswith(f": {reason.strip()}"):
            return task
    decision.enforce()
    policy.seen_unchanged(actor, task, seen, action="undone").enforce()
    undone = task.value or task.not_applicable_reason
    _reopen(task)
    _log(task, actor, TaskActivity.Action.UNDO, f"{undone}: {reason.strip()}")
    return task


def _last_activity(task: Task, actor, action: str) -> TaskActivity | None:
    """The last thing done to the task, if it was `action` by `actor` (under the task's row lock:
    nothing is written meanwhile). A retry is told from a second request so: nothing happened to
    the task since the caller's own first request did what it asks again."""
    last = TaskActivity.objects.filter(task=task).order_by("-pk").first()
    if last is not None and last.action == action and last.actor_id == actor.pk:
        return last
    return None


def _reopen(task: Task) -> None:
    """Open again, its answer and its checks cleared (its history keeps what was undone)."""
    task.status = Task.Status.OPEN
    task.value, task.hard_stop_failed, task.not_applicable_reason = "", False, ""
    task.completed_by = task.completed_at = task.verified_by = task.verified_at = None
    cleared = ["value", "hard_stop_failed", "not_applicable_reason", "completed_by", "completed_at"]
    task.save(update_fields=["status", *cleared, "verified_by", "verified_at"])


@audited(ChecklistAuditAction.NOT_APPLICABLE)
@transaction.atomic
def task_mark_not_applicable(*, task: Task, actor, reason: str) -> Task:
    if not reason.strip():
        raise ValidationError({"reason": "Say why the task does not apply."})
    if len(reason) > 500:
        raise ValidationError({"reason": "At most 500 characters."})
    task = _locked(task)
    decision = policy.can_mark_not_applicable(actor, task)
    if (
        getattr(decision, "error", None) is TaskConflict
        and task.status == Task.Status.NOT_APPLICABLE
        and task.not_applicable_reason == reason.strip()
        and _last_activity(task, actor, TaskActivity.Action.NOT_APPLICABLE)
    ):
        return task  # a retry of this very person's marking, with the same reason: answered as it was
    decision.enforce()
    task.status = Task.Status.NOT_APPLICABLE
    task.not_applicable_reason = reason.strip()
    task.save(update_fields=["status", "not_applicable_reason"])
    _log(task, actor, TaskActivity.Action.NOT_APPLICABLE, task.not_applicable_reason)
    return task


class LeftOpenOutcome(models.TextChoices):
    """How a task left open when its event was done or missed is closed."""

    DONE_LATE = "done_late", "Done late (documented after the fact, with the time it was done)"
    NOT_DONE = "not_done", "Not done"


@audited(ChecklistAuditAction.CLOSE_LEFT_OPEN)
@transaction.atomic
def task_close_left_open(
    *,
    task: Task,
    actor,
    outcome: str,
    reason: str,
    done_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Task:
    """Close a task that was still open when its event was done or missed: done late, at the time it was
    really done (`done_at`, not after now), or not done, with why. Either way the reason is kept in
    its history; it leaves the event page's and the board's lists of work left open."""
    now = now or timezone.now()
    event = _locked_event(task)
    task = _locked(task)
    task.event = event
    policy.can_close_left_open(actor, task).enforce()
    reason = reason.strip()
    errors = {}
    if outcome not in LeftOpenOutcome.values:
        errors["outcome"] = "Choose whether it was done late or not done."
    if not reason:
        errors["reason"] = (
            "Say why it was not done."
            if outcome == LeftOpenOutcome.NOT_DONE
            else "Say how it was done late (and by whom, if not you)."
        )
    elif len(reason) > 500:
        errors["reason"] = "At most 500 characters."
    if outcome == LeftOpenOutcome.DONE_LATE:
        if done_at is None:
            errors["done_at"] = "Give the date and time it was done."
        elif done_at > now:
            errors["done_at"] = "It cannot have been done in the future: give the time it was done."
    if errors:
        raise ValidationError(errors)
    if outcome == LeftOpenOutcome.DONE_LATE:
        task.status = Task.Status.DONE
        task.completed_by, task.completed_at = actor, done_at
        task.assignee = task.assignee or actor
        task.save(update_fields=["status", "completed_by", "completed_at", "assignee"])
        at = moments.moment(done_at, task.patient.unit.zone)
        _log(task, actor, TaskActivity.Action.DONE_LATE, f"Done at {at}: {reason}", now)
    else:
        task.status = Task.Status.NOT_DONE
        task.not_applicable_reason = reason
        task.save(update_fields=["status", "not_applicable_reason"])
        _log(task, actor, TaskActivity.Action.NOT_DONE, reason, now)
    return task


# An override's reason says what makes the start safe: "ok" does not.
OVERRIDE_REASON_MIN = 20
OVERRIDE_REASON_TOO_SHORT = (
    f"Write at least {OVERRIDE_REASON_MIN} characters: what makes the start safe although these items are not done."
)


@audited(ChecklistAuditAction.OVERRIDE)
@transaction.atomic
def event_gate_override(
    *,
    event: CareEvent,
    actor,
    reason: str,
    justification: str,
    covers: Collection[str],
    now: dt.datetime | None = None,
) -> list[Checklist]:
    """An oncologist on the care team clears a blocked event to start, with a justification of a
    kind and a written reason. `covers` are the keys (gate.Blocker.key) of the blockers the
    oncologist saw listed when they confirmed: if what blocks changed meanwhile, even to as many
    other items or another failing value, they look again before anything is overridden."""
    now = now or timezone.now()
    # The event first, as its cancellation locks it: an override racing a cancellation sees it.
    event.status = CareEvent.objects.select_for_update(no_key=True).values_list("status", flat=True).get(pk=event.pk)
    checklists = list(Checklist.objects.select_for_update(no_key=True).filter(event=event).prefetch_related("tasks"))
    gates = {checklist: checklist_readiness(checklist) for checklist in checklists}
    readiness = sum(gates.values(), Readiness())
    policy.can_override_gate(actor, event, readiness=readiness).enforce()
    reason = reason.strip()
    errors = {}
    if len(reason) < OVERRIDE_REASON_MIN:
        errors["reason"] = OVERRIDE_REASON_TOO_SHORT
    if justification not in OverrideJustification.values:
        errors["justification"] = "Choose the kind of justification."
    if errors:
        raise ValidationError(errors)
    if {blocker.key for blocker in readiness.unresolved} != set(covers):
        raise ValidationError(
            {
                "confirm": f"What blocks the event changed while you looked: {len(readiness.unresolved)} items now. "
                "Review them below, then confirm again."
            }
        )
    blocked = [checklist for checklist, gate in gates.items() if not gate.ready]
    for checklist in blocked:
        # The override covers what blocks now, nothing that goes wrong later.
        checklist.overridden_blockers = sorted(
            set(checklist.overridden_blockers) | {blocker.key for blocker in gates[checklist].unresolved}
        )
        checklist.override_reason, checklist.overridden_by, checklist.overridden_at = reason, actor, now
        checklist.override_justification = justification
    Checklist.objects.bulk_update(
        blocked,
        ["override_reason", "override_justification", "overridden_by", "overridden_at", "overridden_blockers"],
    )
    TaskActivity.objects.bulk_create(
        TaskActivity(
            checklist=c,
            patient_id=event.patient_id,
            actor=actor,
            action=TaskActivity.Action.OVERRIDE,
            detail=f"{OverrideJustification(justification).label}: {reason}"[:1000],
            at=now,
        )
        for c in blocked
    )
    return blocked


# --- past events --------------------------------------------------------------------------------


@transaction.atomic
def events_settle(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Give each event still planned EVENT_SETTLE_HOURS after its time an outcome: done when its
    gate was ready (or overridden), missed when it was not. Past events no longer read "Planned"
    for ever, and a missed one stands out on the record. Returns the counts."""
    now = now or timezone.now()
    past = (
        CareEvent.objects.select_for_update(no_key=True, skip_locked=True)
        .filter(status=CareEvent.Status.PLANNED, planned_at__lt=now - dt.timedelta(hours=settings.EVENT_SETTLE_HOURS))
        .prefetch_related(Prefetch("checklists", queryset=Checklist.objects.prefetch_related("tasks")))
    )
    outcomes = {CareEvent.Status.DONE: [], CareEvent.Status.MISSED: []}
    for event in past:
        ready = sum((checklist_readiness(c) for c in event.checklists.all()), Readiness()).ready
        outcomes[CareEvent.Status.DONE if ready else CareEvent.Status.MISSED].append(event.pk)
    for status, ids in outcomes.items():
        CareEvent.objects.filter(pk__in=ids).update(status=status)
    # A course is active once its first cycle started and completed once its last one ended. Every
    # course under way, not only those settled now: one locked by a rebuild at the last beat catches up.
    courses_follow_their_events()
    return {status.label.lower(): len(ids) for status, ids in outcomes.items()}
