"""A temperature as entered (°C or °F) and checked as a body temperature, for the assessments
and the home check-ins alike: 98.6 typed as Celsius is asked about, never stored."""

from decimal import Decimal

from django.db import models


class TemperatureUnit(models.TextChoices):
    CELSIUS = "C", "°C"
    FAHRENHEIT = "F", "°F"


# A body temperature, by unit: outside these, the number was most likely typed in the other unit.
BODY_TEMPERATURE = {
    TemperatureUnit.CELSIUS: (Decimal("25"), Decimal("45")),
    TemperatureUnit.FAHRENHEIT: (Decimal("77"), Decimal("113")),
}


def to_celsius(value: Decimal, unit: str) -> Decimal:
    if unit == TemperatureUnit.FAHRENHEIT:
        value = (value - 32) * 5 / 9
    return value.quantize(Decimal("0.1"))


def temperature_errors(value: Decimal | None, unit: str) -> dict[str, str]:
    """The field errors of a temperature and its unit ({} when it is a body temperature)."""
    if value is None:
        return {}
    if not unit:
        return {"temperature_unit": "Say whether the temperature is in °C or °F."}
    low, high = BODY_TEMPERATURE[unit]
    if low <= value <= high:
        return {}
    other = "°F" if unit == TemperatureUnit.CELSIUS else "°C"
    label = TemperatureUnit(unit).label
    return {
        "temperature": f"{value} {label} is not a body temperature ({low}–{high} {label}). Was it in {other}? "
        "Choose the unit it was measured in."
    }
