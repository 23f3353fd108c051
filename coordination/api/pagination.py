"""Lists page by cursor: `next` and `previous` are links to follow, stable while rows are added
(an offset would skip or repeat rows on a busy ward). `?page_size=` from 1 to 200. A cursor that
was not ours (undecodable, or a position its list's order cannot hold) is a 404 "Invalid cursor"."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-id",)  # newest first, unless the view names its own order

    def get_ordering(self, request, queryset, view):
        """The view's order (`ordering`: "due_at", then "id" to break ties), else newest first."""
        return tuple(getattr(view, "ordering", None) or self.ordering)

    def paginate_queryset(self, queryset, request, view=None):
        self.model = queryset.model  # decode_cursor checks the cursor's position against its field
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's, where a position that the order's first field cannot hold is invalid too: a
        hand-made cursor (`p=abc` on a list by id) would otherwise fail in the query, as a 500."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            field = self.model._meta.get_field(self.ordering[0].lstrip("-"))
            try:
                field.get_prep_value(field.to_python(cursor.position))
            except (TypeError, ValueError, DjangoValidationError):
                raise NotFound(self.invalid_cursor_message) from None
        return cursor

    def get_page_size(self, request):
        """`?page_size=` from 1 to 200; anything else is an error, not silently the default."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdecimal() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]})
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters
