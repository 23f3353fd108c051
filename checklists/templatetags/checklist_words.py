"""The template editor's words for what an item stores as data: when it is due, after what, when it
applies. `{% load checklist_words %}`."""

from django import template

from checklists.conditions import describe_all
from checklists.offsets import describe_offset
from checklists.services import template_item_fingerprint

register = template.Library()


@register.filter
def offset_words(minutes) -> str:
    """-2880 → "2 days before"; 0 → "at the event"."""
    return describe_offset(int(minutes or 0))


@register.filter
def item_label(item) -> str:
    """How the editor names an item of a version: "#3 Cycle 1 ordered and signed"."""
    return f"#{item.order} {item.text}"


@register.filter
def item_fingerprint(item) -> str:
    """The item as the page shows it (services.template_item_fingerprint), sent back with a
    removal: a change saved by another admin meanwhile is not removed unseen."""
    return template_item_fingerprint(item)


@register.filter
def done_after(items) -> str:
    """An item's dependencies in words: "after #3 Cycle 1 ordered and signed and #5 Line primed";
    "" when it waits for none."""
    labels = [item_label(item) for item in sorted(items, key=lambda item: item.order)]
    return f"after {' and '.join(labels)}" if labels else ""


@register.filter
def applies_when(conditions) -> str:
    """Conditions as one sentence: "Applies when weight (kg) is less than 45 and setting is home"."""
    return describe_all(conditions)
