"""The numbers of a unit's report, section by section (one module each in sections/), in the order
the page shows them."""

from .sections.handoffs import handoffs
from .sections.interruptions import interruptions_and_toxicity
from .sections.on_time import on_time
from .sections.overdue import overdue_trend
from .sections.readiness import readiness
from .sections.reminders import reminders

SECTIONS = {
    "readiness": readiness,
    "on_time": on_time,
    "handoffs": handoffs,
    "reminders": reminders,
    "overdue": overdue_trend,
    "interruptions": interruptions_and_toxicity,
}
