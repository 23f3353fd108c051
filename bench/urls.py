"""The site's URLs plus `hello/`: the cost of a request that does nothing, for scale.

Served only by bench/settings.py, never by production.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.urls import include, path


@login_not_required
def hello(request):
    return HttpResponse("Hello, world", content_type="text/plain")


urlpatterns = [
    path("hello/", hello, name="bench_hello"),
    path("", include("config.urls")),
]
