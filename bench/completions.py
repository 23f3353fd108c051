"""A burst of concurrent task completions: what the audit log's write path costs under contention.

    python -m bench completions [--processes 1 8] [--tasks 40] [--source care_bench_load]

On a copy of the dashboard-load database (`python -m bench generate` makes it; the copy is
`care_bench_burst`, made from it as a template and dropped at the end), each of N processes
signs nothing in: it is one ward nurse completing, through `checklists.services.task_complete`,
`--tasks` of her open checkbox tasks one after another, all processes starting at once. Each
completion is one transaction that writes the task, its history row and their audit rows. Reported
per N: completions per second over the burst, and p50/p95/max of one completion's time.
"""

import argparse
import multiprocessing
import os
import statistics
import time

from .db import _maintenance, bench_url, exists

COPY = "care_bench_burst"


def _copy(source_url: str, copy_url: str) -> None:
    with _maintenance(source_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')
        source = source_url.rsplit("/", 1)[1]
        conn.execute(f'CREATE DATABASE "{COPY}" TEMPLATE "{source}"')


def _drop(copy_url: str) -> None:
    with _maintenance(copy_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{COPY}" WITH (FORCE)')


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _work(url: str, processes: int, per_nurse: int) -> list[tuple[int, list[int]]]:
    """`processes` nurses, each with `per_nurse` open checkbox tasks of her own care teams."""
    _setup(url)
    from checklists.models import Task
    from patients.models import CareTeamMember

    plans: list[tuple[int, list[int]]] = []
    nurses = CareTeamMember.objects.filter(role="nurse").values_list("user_id", flat=True).distinct()
    for nurse_id in nurses.order_by("user_id"):
        patients = CareTeamMember.objects.filter(user_id=nurse_id).values("patient_id")
        tasks = (
            Task.objects.filter(
                checklist__event__patient_id__in=patients,
                role="nurse",
                status=Task.Status.OPEN,
                response_kind="checkbox",
                records="",
                depends_on__isnull=True,
            )
            .exclude(pk__in=[pk for _, ids in plans for pk in ids])
            .order_by("due_at")
            .values_list("pk", flat=True)[:per_nurse]
        )
        if len(ids := list(tasks)) == per_nurse:
            plans.append((nurse_id, ids))
        if len(plans) == processes:
            return plans
    raise SystemExit(f"Only {len(plans)} nurses have {per_nurse} open checkbox tasks: try fewer --tasks")


def _nurse(url: str, nurse_id: int, task_ids: list[int], start, results) -> None:
    _setup(url)
    from django.core.exceptions import PermissionDenied, ValidationError

    from accounts.models import User
    from checklists.models import Task
    from checklists.services import task_complete

    nurse = User.objects.get(pk=nurse_id)
    tasks = list(Task.objects.filter(pk__in=task_ids))
    start.wait()
    times, refused = [], 0
    for task in tasks:
        began = time.perf_counter()
        try:
            task_complete(task=task, actor=nurse, value=True)  # the box ticked
        except (PermissionDenied, ValidationError):
            refused += 1
        times.append(time.perf_counter() - began)
    results.put((times, refused, time.perf_counter()))


def _burst(url: str, processes: int, per_nurse: int) -> dict:
    context = multiprocessing.get_context("spawn")
    plans = context.Pool(1).apply(_work, (url, processes, per_nurse))
    start, results = context.Barrier(processes + 1), context.Queue()
    workers = [context.Process(target=_nurse, args=(url, nurse, ids, start, results)) for nurse, ids in plans]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    outcomes = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    ended = max(end for _, _, end in outcomes)
    times = sorted(t for ts, _, _ in outcomes for t in ts)
    done = len(times) - sum(refused for _, refused, _ in outcomes)
    return {
        "processes": processes,
        "completions": done,
        "per_second": done / (ended - began),
        "p50_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))],
        "max_ms": 1000 * times[-1],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench completions", description=__doc__)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--tasks", type=int, default=40, help="completions per process")
    parser.add_argument("--source", default="care_bench_load", help="the generated database to copy")
    args = parser.parse_args(argv)
    source_url, copy_url = bench_url(args.source), bench_url(COPY)
    if not exists(source_url):
        raise SystemExit(f"No {args.source}: run `python -m bench generate` first")
    print("processes  completions  per second  p50 ms  p95 ms  max ms")
    for processes in args.processes:
        _copy(source_url, copy_url)  # each burst on the same fresh copy
        try:
            row = _burst(copy_url, processes, args.tasks)
        finally:
            _drop(copy_url)
        print(
            f"{row['processes']:>9}  {row['completions']:>11}  {row['per_second']:>10.1f}  "
            f"{row['p50_ms']:>6.1f}  {row['p95_ms']:>6.1f}  {row['max_ms']:>6.1f}",
            flush=True,
        )
