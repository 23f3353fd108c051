import datetime as dt

from django import template

register = template.Library()


@register.filter
def duration(length: dt.timedelta | None) -> str:
    """A break's length as a nurse says it: "45 min", "5 h 30 min", "3 days 2 h"."""
    if not length:
        return "–"
    minutes = int(length.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} h")
    if minutes and not days:
        parts.append(f"{minutes} min")
    return " ".join(parts) or "0 min"
