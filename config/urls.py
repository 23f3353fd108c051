from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from patients.views import patient_list

from .health import healthz

admin.site.site_header = "Care Coordination Tracker: administration"

urlpatterns = [
    path("", patient_list, name="home"),
    path("accounts/", include("accounts.urls")),
    path("patients/", include("patients.urls")),
    path("healthz", healthz, name="healthz"),
    path(settings.ADMIN_URL, admin.site.urls),
]
