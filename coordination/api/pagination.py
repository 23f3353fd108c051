"""Lists page by cursor: `next` and `previous` are links to follow, stable while rows are added
(an offset would skip or repeat rows on a busy ward). `?page_size=` from 1 to 200."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-id",)  # newest first, unless the view names its own order

    def get_ordering(self, request, queryset, view):
        """The view's order (`ordering`: "due_at", then "id" to break ties), else newest first."""
        return tuple(getattr(view, "ordering", None) or self.ordering)

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
