from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts.views.mfa import PasswordChangeView
from accounts.views.signin import LogoutView

from .health import healthz

admin.site.site_header = "Care Coordination Tracker: administration"

urlpatterns = [
    path("", include("coordination.urls")),
    path("accounts/", include("accounts.urls")),
    path("patients/", include("patients.urls")),
    path("templates/", include("checklists.urls")),
    path("audit/", include("accounts.audit_urls")),
    path("api/", include("coordination.api.urls")),
    path("fhir/R4/", include("coordination.fhir.urls")),
    path("feeds/", include("coordination.feeds.urls")),
    path("reports/", include("coordination.reports.urls")),
    path("healthz", healthz, name="healthz"),
    # The admin's "Log out" is the site's sign-out, which ends every session of the user.
    path(f"{settings.ADMIN_URL}logout/", LogoutView.as_view(), name="admin_logout"),
    # Its "Change password" is the site's: old passwords checked through the lockout, tokens revoked.
    path(f"{settings.ADMIN_URL}password_change/", PasswordChangeView.as_view(), name="admin_password_change"),
    path(settings.ADMIN_URL, admin.site.urls),
]
