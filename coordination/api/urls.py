"""The REST API (issue 17): /api/v1/…, its schema at /api/schema/ and docs at /api/docs/."""

from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from . import schema  # noqa: F401  (registers the sign-in schemes)
from .views import docs, handoffs, notifications, records, tasks

app_name = "api"

router = SimpleRouter()
router.trailing_slash = "/?"  # /api/v1/tasks and /api/v1/tasks/ alike: integrators' clients differ
router.register("patients", records.PatientViewSet, basename="patient")
router.register("courses", records.CourseViewSet, basename="course")
router.register("cycles", records.CycleViewSet, basename="cycle")
router.register("events", records.CareEventViewSet, basename="event")
router.register("checklists", records.ChecklistViewSet, basename="checklist")
router.register("tasks", tasks.TaskViewSet, basename="task")
router.register("interruptions", records.InterruptionViewSet, basename="interruption")
router.register("bags", records.BagViewSet, basename="bag")
router.register("assessments", records.AssessmentViewSet, basename="assessment")
router.register("pump-events", records.PumpEventViewSet, basename="pump-event")
router.register("check-ins", records.CheckInViewSet, basename="check-in")
router.register("regimens", records.RegimenViewSet, basename="regimen")
router.register("handoffs", handoffs.HandoffViewSet, basename="handoff")
router.register("notifications", notifications.NotificationViewSet, basename="notification")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.DocsView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ is a 404 in problem details, not the site's HTML page.
    re_path(r"^", docs.NotFoundView.as_view()),
]
