"""The site's URLs plus two pages for scale, served only by bench/settings.py, never by production:

- `hello/`: the cost of a request that does nothing;
- `signed-in/`: the least that any page of the project showing patients does for a signed-in
  reader, and nothing more: the session, the user and the middleware of every page, the access
  policy's answer with the change version and the bell's count (the one statement of a kept page:
  `accounts.audit.scope_of`), and the read's audit row naming the patients. Its body is a line of
  text. A page can cost no less than this while it keeps the project's rules, so it is the floor
  against which a kept page is measured (docs/performance.md, issue 19's tenth look).
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import include, path

from accounts.audit import logs_read, scope_of, shows
from coordination.reminders.selectors import unread_count_query
from patients.models.record import visible_ids_query


@login_not_required
def hello(request):
    return HttpResponse("Hello, world", content_type="text/plain")


@logs_read("bench.signed_in")
def signed_in(request):
    scope = scope_of(visible_ids_query(request.user), unread=unread_count_query(request.user))
    shows(request, patients=scope.patient_ids)
    return HttpResponse(f"{len(scope.patient_ids)} patients, version {scope.version}", content_type="text/plain")


urlpatterns = [
    path("hello/", hello, name="bench_hello"),
    path("signed-in/", signed_in, name="bench_signed_in"),
    path("", include("config.urls")),
]
