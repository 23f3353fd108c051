"""/healthz: is the database up, is the broker up. Used by compose and load balancers."""

import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from kombu import Connection


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


# The folders of kombu's filesystem transport (`make run`'s broker) that it writes: a message's in
# and out, and its exchange table (`processed_folder` is not written while `store_processed` is off).
FILESYSTEM_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "control_folder")


def _broker_ok() -> bool:
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # That transport "connects" without looking at its folders, so the check below passes
        # whatever became of them: the broker answers when they are there to be written.
        folders = [Path(options[key]) for key in FILESYSTEM_BROKER_FOLDERS if options.get(key)]
        # No folder configured: kombu would write where the process runs, not a broker `make run` set up.
        return bool(folders) and all(folder.is_dir() and os.access(folder, os.W_OK) for folder in folders)
    try:
        with Connection(settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@login_not_required
@never_cache
def healthz(request):
    checks = {
        "database": "ok" if _database_ok() else "unavailable",
        "broker": "ok" if _broker_ok() else "unavailable",
    }
    healthy = all(state == "ok" for state in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)
