"""What runs beside the pages in production, for `python -m bench load`: the audit sealer every
AUDIT_SEAL_SECONDS (Celery beat's `accounts.audit_seal`) and, with `--writes-per-second N`, a
writer that completes N tasks a second on the other wards through the services, as their nurses
would (issue 19: "under writes").

    python -m bench background --database care_bench_load [--writes-per-second 2] [--seconds 600]

Its database connection is named `bench-background`, so that the load does not count its CPU
as the pages'. It prints what it did when it is stopped (SIGTERM) or its time is up.
"""

import argparse
import os
import random
import signal
import time

from .db import bench_url
from .generate import LOAD_DATABASE, LOAD_NURSE

APPLICATION_NAME = "bench-background"


def _writable_tasks(limit: int = 20_000) -> list:
    """Open checkbox tasks due soon of patients on other wards than the measured nurse's, each
    with a care-team member who may complete it."""
    from django.db.models import OuterRef, Subquery
    from django.utils import timezone

    from accounts.models import User
    from checklists.models import Task
    from patients.models import CareTeamMember

    nurse = User.objects.get(username=LOAD_NURSE)
    worker = CareTeamMember.objects.filter(patient=OuterRef("patient_id"), role=OuterRef("role")).values("user_id")
    tasks = (
        Task.objects.filter(
            status=Task.Status.OPEN,
            response_kind=Task.ResponseKind.CHECKBOX,
            records="",
            due_at__gte=timezone.now(),
        )
        .exclude(patient__unit_id=nurse.unit_id)
        .annotate(worker_id=Subquery(worker[:1]))
        .filter(worker_id__isnull=False)
        .order_by("due_at")[:limit]
    )
    return list(tasks)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench background", description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=LOAD_DATABASE)
    parser.add_argument("--writes-per-second", type=float, default=0.0, help="task completions a second (default 0)")
    parser.add_argument("--seconds", type=float, default=3600, help="stop after this long (default 3600)")
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = bench_url(args.database)
    import django

    django.setup()
    from django.conf import settings
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.db import connection

    from accounts.audit_seal import audit_seal
    from accounts.models import User
    from checklists.services import TaskConflict, task_complete

    with connection.cursor() as cursor:
        cursor.execute("SET application_name = %s", [APPLICATION_NAME])
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tasks = _writable_tasks() if args.writes_per_second else []
    random.Random(7).shuffle(tasks)
    users = {user.pk: user for user in User.objects.filter(pk__in={task.worker_id for task in tasks})}
    started = time.monotonic()
    next_seal = started
    written = refused = seals = 0
    while not stopping and time.monotonic() - started < args.seconds:
        now = time.monotonic()
        if now >= next_seal:
            audit_seal()
            seals += 1
            next_seal = now + settings.AUDIT_SEAL_SECONDS
        due = int((now - started) * args.writes_per_second)
        while tasks and written + refused < due:
            task = tasks.pop()
            try:
                task_complete(task=task, actor=users[task.worker_id], value="on")
                written += 1
            except (TaskConflict, ValidationError, PermissionDenied):  # taken meanwhile, or not doable: the next
                refused += 1
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    print(
        f"background          {seals} seal passes, {written} completions on other wards "
        f"({written / max(elapsed, 1e-9):.1f}/s; {refused} refused) in {elapsed:.0f} s",
        flush=True,
    )
