"""The toxicity trend's charts: every point's value is written inside the chart, clear of the axis."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from patients.models import Assessment
from patients.trends import toxicity_charts

FONT_PX = 13  # the template's font-size
CHARACTER_PX = 8  # a digit or point at that size, generously


def assessment(hours: int, temperature: str, ice: int, crs: int, icans: int) -> Assessment:
    parts = {
        "ice_orientation": 4 - (10 - ice),
        "ice_naming": 3,
        "ice_commands": 1,
        "ice_writing": 1,
        "ice_attention": 1,
    }
    return Assessment(
        assessed_at=timezone.now() + dt.timedelta(hours=hours),
        temperature_celsius=Decimal(temperature),
        crs_grade=crs,
        icans_grade=icans,
        **parts,
    )


def test_the_first_and_last_values_and_the_highest_ones_are_not_cut_off_or_over_the_axis():
    # The highest value of each scale at both ends: labels at the chart's top and sides.
    charts = toxicity_charts(
        [assessment(0, "40.0", 10, 4, 0), assessment(8, "39.2", 6, 0, 4), assessment(16, "40.0", 10, 4, 4)]
    )
    for chart in charts:
        for series in chart.series:
            for point in series.points:
                half = len(point.value) * CHARACTER_PX / 2
                baseline = point.y + series.label_dy
                assert baseline - FONT_PX >= 0 and baseline <= chart.height, (chart.title, point.value, "vertically")
                assert point.x + half <= chart.width, (chart.title, point.value, "past the right edge")
                assert point.x - half >= chart.left, (chart.title, point.value, "over the axis's numbers")
