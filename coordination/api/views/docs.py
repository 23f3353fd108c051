"""The schema (OpenAPI 3, drf-spectacular) and its browsable docs (Swagger UI from the vendored
drf-spectacular-sidecar files). The docs page loads its setup script from its own URL
(`?script`), with no inline script or style, so that the site's CSP ('self') holds."""

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView


class SchemaView(SpectacularAPIView):
    pass


class DocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"


@extend_schema(exclude=True)
class NotFoundView(APIView):
    """What no route of the API matches: a 404 in the API's words, to anyone."""

    permission_classes = [AllowAny]

    def initial(self, request, *args, **kwargs):
        raise NotFound("No such address in the API: see /api/docs/.")
