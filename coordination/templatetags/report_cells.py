"""How the report's tables write a cell (coordination.reports.tables)."""

from django import template

from ..reports.tables import cell_text

register = template.Library()


@register.filter
def cell(value) -> str:
    return cell_text(value)


@register.filter
def cell_class(value) -> str:
    """Numbers line up on the right; text reads from the left."""
    return "text-start" if isinstance(value, str) else "text-end text-nowrap"
