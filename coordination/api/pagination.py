"""Lists page by cursor: `next` and `previous` are links to follow, stable while rows are added
(an offset would skip or repeat rows on a busy ward). `?page_size=` from 1 to 200."""

from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = ("-id",)  # newest first, unless the view names its own order

    def get_ordering(self, request, queryset, view):
        """The view's order (`ordering`: "due_at", then "id" to break ties), else newest first."""
        return tuple(getattr(view, "ordering", None) or self.ordering)
