"""A report's tables: what each section shows beside its chart, and what its CSV holds, cell for cell.

A cell is a count (int), a share (Share), a duration (timedelta), a time on the unit's clock
(datetime), a text, or None (nothing to measure). The page writes a cell with `cell_text`; the CSV
writes one line per cell with the raw number and its unit (`csv_lines`), so that every number on the
page is in the file.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Share:
    """`part` of `whole`, shown as a percentage (whole numbers) with the counts in the CSV."""

    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        """To a tenth, halves rounded up (as a spreadsheet's ROUND does), from the counts exactly."""
        return self._rounded(10) / 10 if self.whole else None

    @property
    def whole_percent(self) -> int | None:
        """To a whole number, halves rounded up: 1 of 8 is 13 %, as 3 of 8 is 38 %."""
        return self._rounded(1) if self.whole else None

    def _rounded(self, steps: int) -> int:
        # Integers only: 100 × part ÷ whole in `steps`ths of a percent, + ½ and floored.
        return (2 * 100 * steps * self.part + self.whole) // (2 * self.whole)


@dataclass
class Table:
    key: str  # names the table in its section (Section.table); the CSV names it by its title
    title: str
    columns: list[str]  # the first heads the row labels
    rows: list[list] = field(default_factory=list)
    empty: str = "Nothing in this period."
    nowrap_labels: bool = False  # dates and hours as row labels stay on one line
    # The page's header for a long column name, {name: short}, so that a wide table fits a 1024 px
    # screen: the page keeps the full name for screen readers and on hover, the CSV names the column
    # by it, and the section's text says what it means.
    short: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        unknown = self.short.keys() - set(self.columns)
        if unknown:  # a renamed column would silently lose its short header
            raise ValueError(f"Short headers for no column: {', '.join(sorted(unknown))}")

    @property
    def headers(self) -> list[tuple[str, str]]:
        """(name, short header or "") of each column, as the page heads them."""
        return [(name, self.short.get(name, "")) for name in self.columns]

    def column(self, name: str) -> list:
        place = self.columns.index(name)
        return [row[place] for row in self.rows]


def duration_text(value: dt.timedelta) -> str:
    """A duration as a person reads it: "45 min", "3 h 05 min", "2 d 4 h"; negative: "early"."""
    minutes = round(value.total_seconds() / 60)
    sign, minutes = ("−", -minutes) if minutes < 0 else ("", minutes)
    if minutes < 60:
        return f"{sign}{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{sign}{days} d {hours} h"


def cell_text(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, Share):
        return "–" if value.whole_percent is None else f"{value.whole_percent} %"
    if isinstance(value, dt.timedelta):
        return duration_text(value)
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def time_csv(value: dt.datetime) -> str:
    """ISO 8601 with the offset: the page's "01:30" of the day summer time ends is two moments."""
    return value.isoformat(timespec="minutes")


def label_csv(value) -> str:
    """A row's label as the CSV names the row: as the page writes it, a time with its offset."""
    return time_csv(value) if isinstance(value, dt.datetime) else cell_text(value)


def cell_csv(value) -> tuple[str, str]:
    """The cell as (value, unit) for the CSV: raw numbers a spreadsheet can add up."""
    if value is None:
        return "", ""
    if isinstance(value, Share):
        return ("" if value.percent is None else f"{value.percent:.1f}"), f"percent ({value.part} of {value.whole})"
    if isinstance(value, dt.timedelta):
        return f"{value.total_seconds() / 60:.1f}", "minutes"
    if isinstance(value, dt.datetime):
        return time_csv(value), ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value), "count"
    return str(value), ""


CSV_HEADER = ("table", "row", "column", "value", "unit")


def csv_lines(tables: list[Table]) -> Iterator[tuple[str, str, str, str, str]]:
    """Every cell of every table, one line each (a long table: a spreadsheet pivots it back)."""
    for table in tables:
        for row in table.rows:
            label = label_csv(row[0])
            for column, value in zip(table.columns[1:], row[1:], strict=True):
                yield (table.title, label, column, *cell_csv(value))
