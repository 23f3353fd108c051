"""How a weight is shown to people: one way on every page, email, export and message."""

from decimal import Decimal


def weight_shown(weight) -> str:
    """A weight as the scale showed it, without the stored decimals' noise: "70 kg", "70.5 kg",
    "5.36 kg", never "70.00 kg" (kept to 10 g, patients.services.parse_weight). The API and FHIR keep
    the number; "" for no weight."""
    if weight is None or weight == "":
        return ""
    return f"{Decimal(weight).normalize():f} kg"
