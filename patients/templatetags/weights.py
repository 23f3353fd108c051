from django import template

from ..weights import weight_shown

register = template.Library()


@register.filter
def kg(weight) -> str:
    """{{ patient.weight_kg|kg }}: "70 kg", "5.36 kg" (patients.weights.weight_shown)."""
    return weight_shown(weight)
