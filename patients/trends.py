"""The toxicity trend as small server-drawn charts (SVG coordinates; the template draws them).

One chart per measure, each on its own scale: temperature, the neurological screen (ICE or
CAPD), and the two grades. Lines differ by pattern and markers by shape, each point carries its
value as text, and the page shows the same numbers in a table: the chart is readable without
colour and without the chart.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from .models import Assessment

WIDTH, HEIGHT = 640, 140
# TOP leaves room for the value written above the highest point; INSET keeps the first and last
# points' values inside the chart and clear of the axis's numbers (they were cut off or over them).
LEFT, RIGHT, TOP, BOTTOM, INSET = 44, 12, 22, 22, 20


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: str
    at: dt.datetime


@dataclass(frozen=True)
class Series:
    name: str
    marker: str  # "circle" or "square"
    dashed: bool
    points: list[Point]
    label_dy: int = -8  # values above the points; a second series' below, so that they never overlap

    @property
    def path(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    ticks: list[tuple[float, str]]  # (y, label)
    series: list[Series]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT


def _x_scale(moments: Sequence[dt.datetime]) -> Callable[[dt.datetime], float]:
    first, last = min(moments), max(moments)
    span = (last - first).total_seconds() or 1
    inner = WIDTH - LEFT - RIGHT - 2 * INSET
    return lambda at: LEFT + INSET + (inner * (at - first).total_seconds() / span if last > first else inner / 2)


def _y_scale(low: float, high: float) -> Callable[[float], float]:
    inner = HEIGHT - TOP - BOTTOM
    return lambda value: TOP + inner * (high - value) / (high - low)


def _series(name, marker, dashed, assessments, read, x, y) -> Series:
    points = []
    for assessment in assessments:
        value = read(assessment)
        if value is not None:
            points.append(Point(x(assessment.assessed_at), y(float(value)), str(value), assessment.assessed_at))
    return Series(name, marker, dashed, points)


def toxicity_charts(assessments: Sequence[Assessment]) -> list[Chart]:
    """The charts of these assessments (oldest first), or none when there is nothing to draw."""
    if not assessments:
        return []
    ordered = sorted(assessments, key=lambda a: a.assessed_at)
    x = _x_scale([a.assessed_at for a in ordered])
    temperatures = [a.temperature_celsius for a in ordered if a.temperature_celsius is not None]
    low = float(min([Decimal("36"), *temperatures]))
    high = float(max([Decimal("40"), *temperatures]))
    temperature_y = _y_scale(low, high)
    charts = [
        Chart(
            "Temperature",
            "°C",
            [(temperature_y(t), f"{t:g}") for t in range(int(low), int(high) + 1)],
            [_series("Temperature (°C)", "circle", False, ordered, lambda a: a.temperature_celsius, x, temperature_y)],
        )
    ]
    children = any(a.uses_capd for a in ordered)
    screen_max = 32 if children else 10
    screen_y = _y_scale(0, screen_max)
    charts.append(
        Chart(
            "CAPD" if children else "ICE score",
            "points",
            [(screen_y(v), str(v)) for v in range(0, screen_max + 1, 8 if children else 2)],
            [
                _series(
                    "CAPD (9 or more: delirium)" if children else "ICE score (10: normal)",
                    "circle",
                    False,
                    ordered,
                    (lambda a: a.capd_score) if children else (lambda a: a.ice_score),
                    x,
                    screen_y,
                )
            ],
        )
    )
    grade_y = _y_scale(0, 4)
    charts.append(
        Chart(
            "Grades",
            "grade",
            [(grade_y(g), str(g)) for g in range(5)],
            [
                _series("CRS grade", "circle", False, ordered, lambda a: a.crs, x, grade_y),
                replace(_series("ICANS grade", "square", True, ordered, lambda a: a.icans, x, grade_y), label_dy=16),
            ],
        )
    )
    return charts
