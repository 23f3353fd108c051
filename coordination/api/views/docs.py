"""The schema (OpenAPI 3, drf-spectacular) and its browsable docs (Swagger UI from the vendored
drf-spectacular-sidecar files). The docs page loads its setup script from its own URL
(`?script`), with no inline script or style, so that the site's CSP ('self') holds."""

from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView


class SchemaView(SpectacularAPIView):
    pass


class DocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"
