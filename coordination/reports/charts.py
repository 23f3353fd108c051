"""The geometry of the report's charts, drawn as SVG by templates/coordination/reports/partials/.

Readable without colour: every series has its own pattern (solid, hatched, dotted, open) named in
the legend, every bar carries its number, and each chart has a title and a description for screen
readers beside the table that holds the same numbers. Red (`late`) is kept for what is late or
unsafe.
"""

from dataclasses import dataclass, field

from .tables import Table, cell_text

# Patterns, by meaning: the SVG's <defs> (partials/chart_defs.html) defines each.
GOOD, MIDDLE, LATE, PLAIN, OPEN = "good", "middle", "late", "plain", "open"

ROW_HEIGHT, BAR_HEIGHT, LABEL_WIDTH, PLOT_WIDTH = 30, 20, 200, 300
LABEL_CHARACTERS = 27  # what fits LABEL_WIDTH at the labels' size; the table and description say all


@dataclass
class Segment:
    x: float
    width: float
    pattern: str
    value: int
    series: str


@dataclass
class Bar:
    label: str
    y: float
    segments: list[Segment]
    total_text: str
    total_x: float


@dataclass
class BarChart:
    """Horizontal bars, stacked by series."""

    title: str
    description: str
    series: list[tuple[str, str]]  # (name, pattern)
    bars: list[Bar] = field(default_factory=list)
    height: int = 0
    label_width: int = LABEL_WIDTH
    plot_width: int = PLOT_WIDTH

    @property
    def width(self) -> int:
        return self.label_width + self.plot_width + 140


def bar_chart(title: str, series: list[tuple[str, str]], rows: list[tuple[str, list[int], str]]) -> BarChart:
    """`rows`: (label, a value per series, the text written after the bar)."""
    largest = max((sum(values) for _, values, _ in rows), default=0) or 1
    chart = BarChart(title, "", series)
    for place, (label, values, total_text) in enumerate(rows):
        y, x, segments = 28 + place * ROW_HEIGHT, float(LABEL_WIDTH), []
        for (name, pattern), value in zip(series, values, strict=True):
            width = PLOT_WIDTH * value / largest
            if value:
                segments.append(Segment(x, width, pattern, value, name))
            x += width
        short = label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…"
        chart.bars.append(Bar(short, y, segments, total_text, x + 6))
    chart.height = 28 + len(rows) * ROW_HEIGHT + 8
    chart.description = "; ".join(
        f"{label}: " + ", ".join(f"{name} {value}" for (name, _), value in zip(series, values, strict=True))
        for label, values, _ in rows
    )
    return chart


@dataclass
class Column:
    label: str
    x: float
    y: float
    height: float
    value: int
    show_label: bool


@dataclass
class ColumnChart:
    """Vertical columns over a sequence (days, hours), each with its number above it."""

    title: str
    description: str
    columns: list[Column]
    pattern: str
    width: int
    height: int
    base: int
    column_width: float
    largest: int
    unit: str = ""
    values_shown: bool = False  # each column's number above it, where there is room


def column_chart(
    title: str, points: list[tuple[str, int]], *, pattern: str = PLAIN, every: int = 1, top: int | None = None
) -> ColumnChart:
    """`points`: (label, value); every `every`-th label is written under its column (all are in
    the description and the table). `top`: the value at the top of the scale (the largest value
    when not given; 100 for percentages)."""
    largest = top or max((value for _, value in points), default=0)
    plot_height, base = 150, 175
    step = max(6.0, min(40.0, 560 / max(len(points), 1)))
    columns = [
        Column(
            label,
            48 + place * step,
            base - plot_height * value / (largest or 1),
            plot_height * value / (largest or 1),
            value,
            place % every == 0,
        )
        for place, (label, value) in enumerate(points)
    ]
    unit = " %" if top == 100 else ""
    description = ", ".join(f"{label}: {value}{unit}" for label, value in points)
    width = int(58 + len(points) * step)
    chart = ColumnChart(title, description, columns, pattern, max(width, 200), base + 40, base, step * 0.75, largest)
    chart.unit, chart.values_shown = unit, step >= 24
    return chart


# --- each section's charts, from its tables ---------------------------------------------------


def readiness_chart(table: Table) -> BarChart:
    rows = [(row[0], [row[2], row[3], row[4]], f"{cell_text(row[5])} ready") for row in table.rows]
    series = [("Ready", GOOD), ("Started on an override", MIDDLE), ("Not ready", LATE)]
    return bar_chart("Events ready at their time, by kind", series, rows)


def on_time_chart(table: Table) -> BarChart:
    """Every task due a segment: not done and left open at their event together (neither was done
    by then, and a left-open task waits to be closed as one or the other)."""
    rows = [(row[0], [row[2], row[3], row[4] + row[5], row[6]], f"{cell_text(row[7])} on time") for row in table.rows]
    series = [
        ("Done on time", GOOD),
        ("Done late", MIDDLE),
        ("Not done, or left open at its event", LATE),
        ("Still open (overdue now)", OPEN),
    ]
    return bar_chart("Tasks done by their due time, by role", series, rows)


def turnaround_chart(table: Table) -> BarChart:
    """Median hours to acknowledgement and to acceptance, one bar each per direction."""
    rows = []
    for row in table.rows:
        for name, place in (("acknowledged", 3), ("accepted", 7)):
            value = row[place]
            minutes = round(value.total_seconds() / 60) if value is not None else 0
            direction = row[0].split(" ")[0]  # "Sent" or "Received"
            rows.append((f"{direction}: {name}", [minutes], f"median {cell_text(value)}"))
    return bar_chart("Median time from sending, in minutes", [("Median minutes", PLAIN)], rows)


def reminders_chart(table: Table) -> BarChart:
    rows = [(row[0], [row[2], row[3], row[4] + row[5]], f"{row[1]} due") for row in table.rows]
    series = [("Sent", GOOD), ("Failed", LATE), ("Skipped or pending", OPEN)]
    return bar_chart("Reminders by kind", series, rows)


def overdue_chart(table: Table) -> ColumnChart:
    points = [(row[0][5:], row[1]) for row in table.rows]  # "MM-DD"
    every = 1 if len(points) <= 14 else 7 if len(points) <= 120 else 30
    return column_chart("Open overdue tasks at the end of each day", points, pattern=LATE, every=every)


def interruptions_chart(table: Table) -> BarChart:
    rows = [(row[0], [row[2], row[3], row[4] + row[5] + row[6]], f"{row[1]} in all") for row in table.rows]
    series = [("Restarted as before", PLAIN), ("Supervised restart", MIDDLE), ("New cycle, stopped or open", LATE)]
    return bar_chart("Interruptions by cause and length", series, rows)


def grades_chart(table: Table) -> BarChart:
    """Patients by their worst CRS grade in each cycle: none, 1–2, 3–4."""
    rows = [
        (row[0], [row[2], row[3] + row[4], row[5] + row[6]], f"{row[1]} patient{'' if row[1] == 1 else 's'}")
        for row in table.rows
    ]
    series = [("No CRS", OPEN), ("CRS grade 1–2", MIDDLE), ("CRS grade 3–4", LATE)]
    return bar_chart("Worst CRS grade per patient, by cycle", series, rows)


def pump_chart(table: Table) -> ColumnChart:
    points = [(row[0][:2], row[1]) for row in table.rows]
    return column_chart("Pump and line events by hour of day", points, pattern=MIDDLE, every=3)


def weekly_share_chart(title: str, table: Table) -> ColumnChart:
    """The share column of a week-by-week table, in percent of each week (weeks with nothing: 0)."""
    points = [(row[0][5:], row[-1].whole_percent or 0) for row in table.rows]
    return column_chart(title, points, pattern=GOOD, top=100)
