"""Rebuild a 9-cycle course after an interruption in cycle 2, with the starter checklists.

    python -m bench reschedule [--database care_bench_reschedule] [--keep]

It never touches the database named in DATABASE_URL: it creates `care_bench_reschedule` beside
it (`--database` names another, so that two runs on one server do not drop each other's),
migrates it (which seeds the regimens), loads the starter checklist library, and plans
relapsed/refractory courses of 9 cycles with 24-hour and with 7-day bags (about 250 and 60
events: the number of events differs fourfold). For each, a 5-hour break in cycle 2 is recorded
and the course rebuilt (`course_schedule_build`, with the checklists' hook moving tasks), and
the rebuild's queries and time are reported. The number of queries must not grow with the
number of events. Last, the first build of a new 24-hour-bag course (what `course_plan` runs, its
checklists made), three times, each rolled back.
"""

import argparse
import datetime as dt
import os
import statistics
import time
from decimal import Decimal

from .db import bench_url, recreate

BENCH_DATABASE = "care_bench_reschedule"


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from checklists.starter import starter_library_load

    starter_library_load()


def _course(n: int, bag_hours: int, start: dt.date):
    from accounts.models import Organisation, Role, Unit, User
    from patients.models import CareTeamMember, Patient
    from patients.services import course_plan

    organisation, _ = Organisation.objects.get_or_create(name="Bench Hospital")
    unit, _ = Unit.objects.get_or_create(
        organisation=organisation,
        name="Haematology",
        defaults={"kind": Unit.Kind.INPATIENT_WARD, "time_zone": "Europe/Paris"},
    )
    patient = Patient.objects.create(
        organisation=organisation,
        unit=unit,
        mrn=f"R{n:06d}",
        given_name="Bench",
        family_name=f"Patient {n}",
        birth_date=dt.date(1970, 1, 1),
        sex=Patient.Sex.FEMALE,
        weight_kg=Decimal(70),
        weight_measured_on=start,
        height_cm=Decimal(170),
    )
    people = {}
    for role in (Role.NURSE, Role.ONCOLOGIST):
        user = User.objects.create(username=f"{role}{n}", role=role, unit=unit)
        CareTeamMember.objects.create(patient=patient, user=user, role=role)
        people[role] = user
    course = course_plan(
        patient=patient,
        indication="relapsed_refractory",
        start_date=start,
        planned_cycles=9,
        bag_hours=bag_hours,
        outpatient_setting="home",
        actor=people[Role.ONCOLOGIST],
        now=dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC) - dt.timedelta(days=1),
    )
    return course, people


def _measure(course, people, zone) -> dict:
    from django.db import connection, transaction

    from accounts.models import Role
    from patients.models import CareEvent
    from patients.services import course_schedule_build, interruption_restart, interruption_stop

    cycle2 = course.cycles.get(number=2)
    stop_at = dt.datetime.combine(cycle2.start_date + dt.timedelta(days=3), dt.time(14), tzinfo=zone)
    now = stop_at + dt.timedelta(minutes=10)
    interruption = interruption_stop(
        course=course, stopped_at=stop_at, cause="pump_or_line", actor=people[Role.NURSE], now=now
    )
    interruption_restart(
        interruption=interruption, restarted_at=stop_at + dt.timedelta(hours=5), actor=people[Role.ONCOLOGIST], now=now
    )
    events = CareEvent.objects.filter(cycle__course=course).count()

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    # The first rebuild after the restart moved everything already; a rebuild from a state
    # before the break measures the real work: undo the moves, then rebuild.
    seconds, per_call = [], []
    for _ in range(3):
        with transaction.atomic():
            shifted = list(CareEvent.objects.filter(cycle__course=course, planned_at__gt=now, scheduled=True))
            for event in shifted:
                event.planned_at -= dt.timedelta(hours=5)
            CareEvent.objects.bulk_update(shifted, ["planned_at"])
            before = queries
            started = time.perf_counter()
            with connection.execute_wrapper(count):
                changes = course_schedule_build(course=course, now=now)
            seconds.append(time.perf_counter() - started)
            per_call.append(queries - before)
            moved = len(changes.moved)
    return {"events": events, "moved": moved, "seconds": seconds, "queries": sorted(set(per_call))}


def _measure_first_build(n: int, bag_hours: int, start: dt.date) -> dict:
    """The first build of a new course (what `course_plan` runs), three times, each rolled back."""
    from django.db import connection, transaction

    from patients.models import TreatmentCourse
    from patients.services import course_schedule_build

    class _Undo(Exception):
        pass

    queries, seconds, events = [], [], 0
    for attempt in range(3):
        try:
            with transaction.atomic():
                planned, _ = _course(n + attempt, bag_hours, start)
                course = TreatmentCourse.objects.create(
                    patient=planned.patient,
                    indication=planned.indication,
                    regimen_version=planned.regimen_version,
                    planned_cycles=planned.planned_cycles,
                    start_date=start,
                    bag_hours=bag_hours,
                    outpatient_setting=planned.outpatient_setting,
                )
                counted = []

                def count(execute, sql, params, many, context, counted=counted):
                    counted.append(sql)
                    return execute(sql, params, many, context)

                planned_on = dt.datetime.combine(start, dt.time(0), tzinfo=dt.UTC) - dt.timedelta(days=1)
                started = time.perf_counter()
                with connection.execute_wrapper(count):
                    events = len(course_schedule_build(course=course, now=planned_on).created)
                seconds.append(time.perf_counter() - started)
                queries.append(len(counted))
                raise _Undo
        except _Undo:
            pass
    return {"events": events, "seconds": seconds, "queries": sorted(set(queries))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench reschedule", description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=BENCH_DATABASE, help="the bench's own database")
    parser.add_argument("--keep", action="store_true", help="keep the bench's database afterwards")
    args = parser.parse_args(argv)

    url = bench_url(args.database)
    recreate(url)
    try:
        _setup_django(url)
        import zoneinfo

        zone = zoneinfo.ZoneInfo("Europe/Paris")
        start = dt.date(2027, 1, 4)
        results = {}
        for n, bag_hours in enumerate((24, 168)):
            course, people = _course(n, bag_hours, start)
            results[bag_hours] = _measure(course, people, zone)
        first_build = _measure_first_build(100, 24, start)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            recreate(url, drop_only=True)

    print(f"database   {args.database} (created and dropped by the bench)")
    print("course     relapsed/refractory, 9 cycles, starter checklists; a 5-hour break in cycle 2, then a rebuild")
    for bag_hours, result in results.items():
        median = statistics.median(result["seconds"]) * 1000
        print(
            f"{bag_hours:>3} h bags  {result['events']} events, {result['moved']} moved by the rebuild: "
            f"median {median:.0f} ms, queries per rebuild {result['queries']}"
        )
    median = statistics.median(first_build["seconds"]) * 1000
    print(
        f" 24 h bags  first build of a new course, {first_build['events']} events: median {median:.0f} ms, "
        f"queries {first_build['queries']}"
    )
