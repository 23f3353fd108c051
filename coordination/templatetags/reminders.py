"""Template filters of the reminder pages."""

import datetime as dt

from django import template

register = template.Library()


@register.filter
def lag(value: dt.timedelta | None) -> str:
    """A lag in words a person reads at a glance: 850 ms, 12 s, 3 min 5 s, 2 h 10 min."""
    if value is None:
        return "–"
    seconds = value.total_seconds()
    if seconds < 0:
        return "early"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
