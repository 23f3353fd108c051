"""Instantiate the checklists of 1,000 cycle starts from one published 12-item template.

    python -m bench instantiate [--events 1000] [--batch 100] [--items 12] [--keep]

It never touches the database named in DATABASE_URL: it connects to that server, creates a
database named `care_bench` (dropped first if it exists), migrates it, fills it, measures, and
drops it again (unless --keep). Reported: checklists per second and queries per checklist.
"""

import argparse
import datetime as dt
import os
import statistics
import time
from decimal import Decimal
from urllib.parse import urlsplit

from .db import bench_url, recreate

BENCH_DATABASE = "care_bench"


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _fill(*, events: int, items: int):
    """One published cycle-start template and `events` patients, each with a course, cycle 1 and its start."""
    from django.utils import timezone

    from accounts.models import Organisation, Unit
    from checklists.models import ChecklistTemplate, ItemCondition, TemplateCondition, TemplateItem
    from checklists.services import template_version_new_draft, template_version_publish
    from patients.models import CareEvent, Cycle, Indication, Patient, RegimenVersion, Setting, TreatmentCourse

    organisation = Organisation.objects.create(name="Bench Hospital")
    unit = Unit.objects.create(
        organisation=organisation, name="Haematology", kind=Unit.Kind.INPATIENT_WARD, time_zone="Europe/Paris"
    )
    template = ChecklistTemplate.objects.create(name="Cycle start", trigger_kind=CareEvent.Kind.CYCLE_START)
    TemplateCondition.objects.create(template=template, fact="cycle_number", operator="le", value="9")
    draft = template_version_new_draft(template=template, actor=None)
    roles = ["pharmacist", "nurse", "oncologist", "case_manager"]
    created = []
    for n in range(items):
        number = n % 3 == 1
        created.append(
            TemplateItem.objects.create(
                version=draft,
                order=n + 1,
                section="Before the start",
                text=f"Check {n + 1}",
                role=roles[n % len(roles)],
                due_offset_minutes=-60 * (n + 1),
                response_kind="number" if number else "checkbox",
                unit="kg" if number else "",
                min_value=Decimal(30) if number else None,
                max_value=Decimal(150) if number else None,
                hard_stop=number,
                needs_verification=n % 4 == 0,
            )
        )
    # Realistic conditions (a third of the items) and a chain of dependencies.
    for n, item in enumerate(created):
        if n % 3 == 2:
            fact, operator, value = [("weight_kg", "lt", "45"), ("setting", "eq", "inpatient")][n % 2]
            ItemCondition.objects.create(item=item, fact=fact, operator=operator, value=value)
        if n and n % 4 == 0:
            item.depends_on.add(created[n - 1])
    template_version_publish(version=draft, actor=None, change_summary="Bench")

    start = timezone.localdate() + dt.timedelta(days=7)
    patients = Patient.objects.bulk_create(
        Patient(
            organisation=organisation,
            unit=unit,
            mrn=f"B{n:06d}",
            given_name="Bench",
            family_name=f"Patient {n}",
            birth_date=dt.date(1970, 1, 1),
            sex=Patient.Sex.FEMALE,
            weight_kg=Decimal(40 + n % 60),
            weight_measured_on=start - dt.timedelta(days=8),
            height_cm=Decimal(170),
        )
        for n in range(events)
    )
    regimen = RegimenVersion.objects.get(regimen__indication=Indication.MRD_POSITIVE, status="published")
    courses = TreatmentCourse.objects.bulk_create(
        TreatmentCourse(
            patient=p, indication=Indication.MRD_POSITIVE, regimen_version=regimen, planned_cycles=1, start_date=start
        )
        for p in patients
    )
    cycles = Cycle.objects.bulk_create(
        Cycle(course=c, number=1, phase=Cycle.Phase.INDUCTION, start_date=start, inpatient_days=3) for c in courses
    )
    at = dt.datetime.combine(start, dt.time(9), tzinfo=unit.zone)
    return CareEvent.objects.bulk_create(
        CareEvent(
            patient_id=c.course.patient_id,
            cycle=c,
            kind=CareEvent.Kind.CYCLE_START,
            scheduled=True,
            setting=Setting.INPATIENT,
            planned_at=at,
        )
        for c in cycles
    )


def _measure(events, batch: int) -> dict:
    from django.db import connection, transaction

    from checklists.models import Task
    from checklists.services import checklists_instantiate

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    seconds, per_call, checklists = [], [], 0
    with connection.execute_wrapper(count):
        for offset in range(0, len(events), batch):
            before = queries
            started = time.perf_counter()
            with transaction.atomic():
                checklists += len(checklists_instantiate(events=events[offset : offset + batch]))
            seconds.append(time.perf_counter() - started)
            per_call.append(queries - before)
    return {
        "checklists": checklists,
        "tasks": Task.objects.count(),
        "seconds": sum(seconds),
        "batch_seconds": seconds,
        "queries": queries,
        "queries_per_call": sorted(set(per_call)),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench instantiate", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="cycle starts to instantiate (default 1000)")
    parser.add_argument("--batch", type=int, default=100, help="events per checklists_instantiate call (default 100)")
    parser.add_argument("--items", type=int, default=12, help="items in the template (default 12)")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DATABASE} database afterwards")
    args = parser.parse_args(argv)

    url = bench_url(BENCH_DATABASE)
    recreate(url)
    try:
        _setup_django(url)
        started = time.perf_counter()
        events = _fill(events=args.events, items=args.items)
        fill_seconds = time.perf_counter() - started
        result = _measure(events, args.batch)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate(url, drop_only=True)

    n = result["checklists"]
    batches = result["batch_seconds"]
    print(f"database            {BENCH_DATABASE} on {urlsplit(url).hostname} (created and dropped by the bench)")
    print(f"template            1 published cycle-start version, {args.items} items")
    print(f"set-up              {args.events} patients, courses, cycles and cycle starts in {fill_seconds:.1f} s")
    print(f"instantiated        {n} checklists, {result['tasks']} tasks, in {len(batches)} calls of {args.batch}")
    print(f"time                {result['seconds']:.2f} s in total")
    print(
        f"per call            median {statistics.median(batches) * 1000:.0f} ms, "
        f"min {min(batches) * 1000:.0f} ms, max {max(batches) * 1000:.0f} ms"
    )
    per_second = n / result["seconds"], result["tasks"] / result["seconds"]
    print(f"throughput          {per_second[0]:.0f} checklists/s, {per_second[1]:.0f} tasks/s")
    print(f"queries             {result['queries']} in total; per call: {result['queries_per_call']}")
    print(f"queries/checklist   {result['queries'] / n:.3f}")
