from django.urls import path

from . import audit_report

app_name = "audit"
urlpatterns = [
    path("", audit_report.audit_log, name="log"),
    path("export.csv", audit_report.audit_export, name="export"),
]
