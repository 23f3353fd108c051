"""Settings of `python -m bench load`: the production settings, plus a bare hello view's URL.

The load serves every page (hello included) with these settings, so that one gunicorn set-up
runs them all. DEBUG is off, static files are plain (no manifest: the bench runs no
collectstatic) and plain HTTP is not redirected to HTTPS. A setting worth changing in
production is tried here first, through the variables below (each unset by default, so that
a plain run measures production as it is):

- BENCH_SESSION_ENGINE: e.g. django.contrib.sessions.backends.cached_db;
- BENCH_CONN_MAX_AGE: seconds a database connection is kept between requests (0: one per request).
"""

import os

from config import settings as _production

globals().update({name: getattr(_production, name) for name in dir(_production) if name.isupper()})

ROOT_URLCONF = "bench.urls"
DEBUG = False
# wrk speaks plain HTTP to gunicorn; in production TLS ends at the proxy in front of it.
SECURE_SSL_REDIRECT = False
STORAGES = {
    **_production.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if os.environ.get("BENCH_SESSION_ENGINE"):
    SESSION_ENGINE = os.environ["BENCH_SESSION_ENGINE"]
DATABASES = {"default": dict(_production.DATABASES["default"])}
if os.environ.get("BENCH_CONN_MAX_AGE"):
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])
