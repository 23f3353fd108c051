"""The report's first lines: the few numbers a unit's nurse manager brings to the monthly quality
meeting, each taken from a row of a section's table (so each is in that section's CSV), with a
link to the section that explains it. No query of its own."""

from dataclasses import dataclass

from .tables import Table, cell_text


@dataclass(frozen=True)
class Headline:
    label: str
    value: str  # as the page writes it
    detail: str
    section: str  # the key of the section that holds the number


def _row(table: Table, label: str) -> list | None:
    return next((row for row in table.rows if row[0] == label), None)


def headlines(sections: dict) -> list[Headline]:
    ready = _row(sections["readiness"].table("by_kind"), "All events")
    on_time = _row(sections["on_time"].table("by_role"), "All roles")
    sent = _row(sections["handoffs"].table("turnaround"), "Sent by this unit")
    overdue = sections["overdue"].table("by_day").rows
    escalations = _row(sections["reminders"].table("summary"), "Escalations sent (tasks, handoffs, toxicity alerts)")
    interruptions = sum(sections["interruptions"].table("interruptions").column("Interruptions"))

    return [
        Headline(
            "Events ready at their time",
            cell_text(ready[5] if ready else None),
            f"{ready[2]:,} of {ready[1]:,} events; {ready[3]:,} started on an override" if ready else "No events",
            "readiness",
        ),
        Headline(
            "Tasks done by their due time",
            cell_text(on_time[7] if on_time else None),
            f"{on_time[2]:,} of {on_time[1]:,} tasks; {on_time[6]:,} still open" if on_time else "No tasks due",
            "on_time",
        ),
        Headline(
            "Handoffs sent: median time to acknowledgement",
            cell_text(sent[3]) if sent else "–",
            f"{sent[2]:,} of {sent[1]:,} acknowledged; {sent[10]:,} past the deadline" if sent else "No handoffs sent",
            "handoffs",
        ),
        Headline(
            "Open overdue tasks at the period's end",
            cell_text(overdue[-1][1]) if overdue else "–",
            f"{overdue[0][1]:,} at the end of its first day" if overdue else "",
            "overdue",
        ),
        Headline(
            "Escalations sent",
            cell_text(escalations[1]) if escalations else "0",
            "for tasks, handoffs and toxicity alerts",
            "reminders",
        ),
        Headline("Infusion interruptions", f"{interruptions:,}", "begun in the period", "interruptions"),
    ]
