"""The lists' filters: `?patient=12&status=open`. An id that names nothing (or nothing the caller
sees) filters to an empty list, never an error: a 400 would tell a stranger which ids exist. A
number that no id can be (0, or beyond MAX_ID) is a 400, which tells nothing. A parameter that the
list does not know is a 400 too (`KnownParameters`), and so is one given empty (`?event=`)."""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.settings import api_settings

from .serializers import MAX_ID, NOT_AN_ID


@extend_schema_field({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.update(min_value=1, max_value=MAX_ID, error_messages={"min_value": NOT_AN_ID, "max_value": NOT_AN_ID})
        super().__init__(*args, **kwargs)


def filters_for(model, *, ids: dict[str, str], fields: tuple[str, ...] = ()) -> type[django_filters.FilterSet]:
    """A FilterSet of `model`: `ids` maps a query parameter to the relation it filters by its id
    ({"patient": "course__patient"}); `fields` are the model's own (choices: status, kind, role)."""
    declared = {name: IdFilter(field_name=path) for name, path in ids.items()}
    meta = type("Meta", (), {"model": model, "fields": list(fields)})
    return type(f"{model.__name__}Filter", (django_filters.FilterSet,), {**declared, "Meta": meta})


EMPTY_PARAMETER = "Give a value, or leave the parameter out."


class KnownParameters(BaseFilterBackend):
    """A query parameter that the list does not know is a 400 naming it, never silently ignored:
    `?patients=12`, a typo for `patient`, would otherwise answer every task, and an integrator
    take it for the patient's (FHIR's searches refuse theirs the same way). Known: the list's
    filters, its view's `query_parameters`, the cursor's and `page_size`, and `format`.

    A known parameter given with no value is a 400 as well: `?event=` is not an id, and a client
    that built its query with a variable it forgot to fill would otherwise get every row back
    (the filter left out) and take them for the event's."""

    def filter_queryset(self, request, queryset, view):
        known = self.known(view)
        unknown = sorted(set(request.query_params) - known)
        if unknown:
            message = f"Unknown parameter. This list takes: {', '.join(sorted(known))}."
            raise ValidationError({name[:60]: [message] for name in unknown})
        empty = sorted(name for name, values in request.query_params.lists() if not all(values))
        if empty:
            raise ValidationError({name: [EMPTY_PARAMETER] for name in empty})
        return queryset

    @staticmethod
    def known(view) -> set[str]:
        filterset = getattr(view, "filterset_class", None)
        paginator = view.paginator
        return {
            *(filterset.base_filters if filterset is not None else ()),
            *getattr(view, "query_parameters", ()),
            *(getattr(paginator, "cursor_query_param", None), getattr(paginator, "page_size_query_param", None)),
            api_settings.URL_FORMAT_OVERRIDE,
        } - {None}
