"""The lists' filters: `?patient=12&status=open`. An id that names nothing (or nothing the caller
sees) filters to an empty list, never an error: a 400 would tell a stranger which ids exist."""

import django_filters
from django import forms


class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


def filters_for(model, *, ids: dict[str, str], fields: tuple[str, ...] = ()) -> type[django_filters.FilterSet]:
    """A FilterSet of `model`: `ids` maps a query parameter to the relation it filters by its id
    ({"patient": "course__patient"}); `fields` are the model's own (choices: status, kind, role)."""
    declared = {name: IdFilter(field_name=path) for name, path in ids.items()}
    meta = type("Meta", (), {"model": model, "fields": list(fields)})
    return type(f"{model.__name__}Filter", (django_filters.FilterSet,), {**declared, "Meta": meta})
