"""FHIR R4 read and search under /fhir/R4/ (issue 17), built with fhir.resources."""

from django.urls import path, re_path

from . import views

app_name = "fhir"
urlpatterns = [
    path("metadata", views.MetadataView.as_view(), name="metadata"),
    path("Patient/<str:resource_id>/$everything", views.EverythingView.as_view(), name="everything"),
    path("<str:resource_type>", views.SearchView.as_view(), name="search"),
    path("<str:resource_type>/<str:resource_id>", views.ReadView.as_view(), name="read"),
    # Anything else under /fhir/R4/ is a 404 OperationOutcome, not the site's HTML page.
    re_path(r"^", views.NotFoundView.as_view()),
]
