"""Generate the dashboard-load data set: 1,000 active patients, ~100,000 tasks, 200 users.

    python -m bench generate [--patients 1000] [--seed 7] [--database care_bench_load]

It never touches the database named in DATABASE_URL: it connects to that server, drops and
creates `care_bench_load`, migrates it and fills it through the project's own models and
services (in a minute or two), then keeps it for `python -m bench load`:

- one hospital with five haematology wards (one more for every 200 patients beyond 1,000: `--patients
  10000` makes 50 wards of 200), a day infusion clinic and a home-infusion agency;
- 200 users at 1,000 patients: per ward a coordinator, 16 nurses, 6 pharmacists, 6 oncologists and 5 case managers;
  clinic and agency nurses; two admins. All sign in with the password BENCH_PASSWORD;
- 1,000 patients (200 a ward) with a care team of two ward nurses, a pharmacist, an oncologist
  and a case manager, plus an agency or clinic nurse; each has a blinatumomab course whose
  schedule is built by `course_schedule_build` (cycles, care events and, through the
  checklists hook, the starter library's checklists and tasks), started at a different point;
- work before now settled the way a ward would have left it: most of it done (values,
  completers, independent checks and history rows), some marked not applicable, a few
  stragglers and the last hours still open, some upcoming work claimed; past events done;
- a few notifications per user, some unread.
"""

import argparse
import datetime as dt
import os
import random
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from .db import bench_url, recreate

LOAD_DATABASE = "care_bench_load"
BENCH_PASSWORD = "bench-Care-2026"  # noqa: S105  (synthetic users of a throw-away database)
ZONE = "America/New_York"
WARDS = 5  # at 1,000 patients; more with more patients, so that each ward keeps its size
PATIENTS_PER_WARD = 200
# Per ward: role → head count (34 a ward, 170 in all).
WARD_STAFF = {"coordinator": 1, "nurse": 16, "pharmacist": 6, "oncologist": 6, "case_manager": 5}
CLINIC_STAFF = {"coordinator": 1, "nurse": 8, "pharmacist": 2, "oncologist": 2}  # 13
AGENCY_STAFF = {"coordinator": 1, "nurse": 12, "case_manager": 2}  # 15
ADMINS = 2  # 170 + 13 + 15 + 2 = 200 users

# The users and the patient whose pages `python -m bench load` measures.
LOAD_NURSE = "w1.nurse01"
LOAD_COORDINATOR = "w1.coordinator01"

GIVEN = [
    "Alice", "Bruno", "Chloe", "Daniel", "Eva", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Leo",
    "Maya", "Nils", "Olga", "Pavel", "Rosa", "Samir", "Tara", "Umar", "Vera", "Wen", "Yara", "Zoe",
]  # fmt: skip
FAMILY = [
    "Moreau", "Keller", "Dubois", "Okafor", "Lindqvist", "Haddad", "Nakamura", "Silva", "Barros", "Berg",
    "Novak", "Marchetti", "Andersen", "Costa", "Fischer", "Garcia", "Horvat", "Ivanova", "Jensen", "Kowalski",
    "Larsen", "Meyer", "Nowak", "Oliveira", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka", "Weber",
]  # fmt: skip


@dataclass
class Staff:
    wards: list  # per ward: role → [users]
    clinic: dict
    agency: dict
    users: list


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def ward_count(patients: int) -> int:
    """Wards of 200 patients (5 at least): a bigger hospital has more wards, not fuller ones, so
    that a nurse's patients and a board's unit stay the size they are at 1,000 patients."""
    return max(WARDS, -(-patients // PATIENTS_PER_WARD))


def _staff(rng: random.Random, wards: int = WARDS):
    from django.contrib.auth.hashers import make_password

    from accounts.models import Organisation, Unit, User

    organisation = Organisation.objects.create(name="Bench University Hospital")
    ward_units = [
        Unit(organisation=organisation, name=f"Haematology Ward {n + 1}", kind=Unit.Kind.INPATIENT_WARD, time_zone=ZONE)
        for n in range(wards)
    ]
    clinic = Unit(organisation=organisation, name="Day Infusion Clinic", kind=Unit.Kind.INFUSION_CLINIC, time_zone=ZONE)
    agency = Unit(organisation=organisation, name="HomeCare Infusion", kind=Unit.Kind.HOME_HEALTH, time_zone=ZONE)
    Unit.objects.bulk_create([*ward_units, clinic, agency])

    password = make_password(BENCH_PASSWORD)  # hashed once: 200 hashes would take a minute
    users, groups = [], []

    def hire(prefix: str, unit, staff: dict) -> dict:
        by_role = {}
        for role, count in staff.items():
            by_role[role] = []
            for n in range(1, count + 1):
                user = User(
                    username=f"{prefix}.{role.replace('_', '')}{n:02d}",
                    first_name=rng.choice(GIVEN),
                    last_name=rng.choice(FAMILY),
                    email=f"{prefix}.{role}{n:02d}@bench.example",
                    password=password,
                    role=role,
                    unit=unit,
                )
                users.append(user)
                by_role[role].append(user)
        return by_role

    for n, unit in enumerate(ward_units):
        groups.append(hire(f"w{n + 1}", unit, WARD_STAFF))
    clinic_staff = hire("clinic", clinic, CLINIC_STAFF)
    agency_staff = hire("home", agency, AGENCY_STAFF)
    for n in range(1, ADMINS + 1):
        users.append(
            User(
                username=f"admin{n:02d}",
                first_name="Ada",
                last_name="Admin",
                password=password,
                is_staff=True,
                is_superuser=True,
            )
        )
    User.objects.bulk_create(users)
    return ward_units, Staff(wards=groups, clinic=clinic_staff, agency=agency_staff, users=users)


def _patients(*, count: int, ward_units, staff: Staff, rng: random.Random):
    """Patients, their care teams and courses (not yet scheduled)."""
    from django.utils import timezone

    from patients.models import CareTeamMember, Indication, Patient, RegimenVersion, Setting, TreatmentCourse

    today = timezone.localdate()
    regimens = {
        version.regimen.indication: version
        for version in RegimenVersion.objects.filter(status="published").select_related("regimen")
    }
    patients, members, courses = [], [], []
    for n in range(count):
        ward = n % len(ward_units)
        child = rng.random() < 0.04
        birth = today - dt.timedelta(days=rng.randint(3 * 365, 16 * 365) if child else rng.randint(19 * 365, 85 * 365))
        weight = Decimal(rng.randint(150, 450)) / 10 if child else Decimal(rng.randint(450, 1200)) / 10
        patients.append(
            Patient(
                organisation=ward_units[ward].organisation,
                unit=ward_units[ward],
                mrn=f"BUH{n + 1:06d}",
                given_name=rng.choice(GIVEN),
                family_name=rng.choice(FAMILY),
                birth_date=birth,
                sex=rng.choice([Patient.Sex.FEMALE, Patient.Sex.MALE]),
                weight_kg=weight,
                weight_measured_on=today - dt.timedelta(days=rng.randint(0, 6)),
                height_cm=Decimal(rng.randint(95, 150) if child else rng.randint(150, 195)),
            )
        )
    Patient.objects.bulk_create(patients)

    for n, patient in enumerate(patients):
        ward, slot = n % len(ward_units), n // len(ward_units)  # the slot-th patient of its ward
        team = staff.wards[ward]
        nurses = team["nurse"]
        # Two ward nurses a patient, paired round the ward: each nurse is on ~25 patients.
        chosen = [nurses[slot % len(nurses)], nurses[(slot + 1 + slot // len(nurses)) % len(nurses)]]
        if chosen[0] == chosen[1]:
            chosen[1] = nurses[(slot + 1) % len(nurses)]
        for role in ("pharmacist", "oncologist", "case_manager"):
            chosen.append(team[role][slot % len(team[role])])
        indication = rng.choices(
            [Indication.RELAPSED_REFRACTORY, Indication.MRD_POSITIVE, Indication.CONSOLIDATION], weights=[5, 4, 1]
        )[0]
        cycles = rng.choices([1, 2, 3], weights=[90, 8, 2])[0]
        setting = rng.choices([Setting.HOME, Setting.CLINIC], weights=[3, 1])[0]
        outside = staff.agency["nurse"] if setting == Setting.HOME else staff.clinic["nurse"]
        chosen.append(outside[n % len(outside)])
        members += [CareTeamMember(patient=patient, user=user, role=user.role) for user in chosen]
        # Active: somewhere between a week before day 1 and the end of the last infusion.
        span = cycles * 42 - 14
        courses.append(
            TreatmentCourse(
                patient=patient,
                indication=indication,
                regimen_version=regimens[indication],
                planned_cycles=cycles,
                start_date=today - dt.timedelta(days=rng.randint(-7, span - 1)),
                bag_hours=rng.choices([24, 48, 72, 96, 168], weights=[3, 17, 25, 20, 35])[0],
                outpatient_setting=setting,
            )
        )
    CareTeamMember.objects.bulk_create(members)
    TreatmentCourse.objects.bulk_create(courses)
    return patients, courses


def _schedule(courses, *, batch: int = 50) -> None:
    """The real schedule service, course by course: cycles, events, checklists and tasks."""
    from django.db import transaction

    from patients.services import course_schedule_build

    started = time.perf_counter()
    for offset in range(0, len(courses), batch):
        with transaction.atomic():
            for course in courses[offset : offset + batch]:
                course_schedule_build(course=course)
        done = offset + batch
        if done % 250 == 0 or done >= len(courses):
            print(f"  scheduled {min(done, len(courses))} courses ({time.perf_counter() - started:.0f} s)", flush=True)


def _member(role_expr, *, last: bool = False, not_user=None):
    """A care-team member of the task's patient with the given role (a correlated subquery)."""
    from django.db.models import OuterRef, Subquery

    from patients.models import CareTeamMember

    members = CareTeamMember.objects.filter(patient_id=OuterRef("patient_id"), role=role_expr)
    if not_user is not None:
        members = members.exclude(user_id=not_user)
    return Subquery(members.order_by("-pk" if last else "pk").values("user_id")[:1])


def _settle(*, now: dt.datetime) -> None:
    """Leave the past the way a ward would: a bulk shortcut for generated data only; real
    completions go through checklists.services."""
    from django.db import transaction
    from django.db.models import CharField, DateTimeField, ExpressionWrapper, F, OuterRef, Q, Subquery, Value
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast, Coalesce, Concat, Mod, NullIf

    from checklists.models import Task
    from checklists.services import ATTESTATION_VALUE
    from patients.models import CareEvent, Patient

    settled_before = now - dt.timedelta(hours=10)
    recent = Q(due_at__gte=settled_before, due_at__lt=now)
    with transaction.atomic():
        CareEvent.objects.filter(status=CareEvent.Status.PLANNED, planned_at__lt=now - dt.timedelta(hours=1)).update(
            status=CareEvent.Status.DONE, actual_at=F("planned_at")
        )
        tasks = Task.objects.filter(status=Task.Status.OPEN).annotate(bucket=Mod("id", 100))
        # Older work: 1 in 100 forgotten (it shows as overdue), 1 in 20 not applicable, the rest done.
        # The last ten hours: half of it done, the rest still open and overdue.
        older = Q(due_at__lt=settled_before) & ~Q(bucket=0)
        tasks.filter(older, bucket__lt=5, hard_stop=False, needs_verification=False).update(
            status=Task.Status.NOT_APPLICABLE, not_applicable_reason="Done on paper during a network outage"
        )
        done = Task.objects.filter(status=Task.Status.OPEN).annotate(bucket=Mod("id", 100))
        done = done.filter(older | (recent & Q(bucket__gte=50)))
        weight = Subquery(Patient.objects.filter(pk=OuterRef("patient_id")).values("weight_kg")[:1])
        kind = Task.ResponseKind
        values = {
            kind.CHECKBOX: Value("yes"),
            kind.ATTESTATION: Value(ATTESTATION_VALUE),
            kind.TEXT: Value("Alert, oriented; temperature 36.8 °C, no signs of CRS"),
            kind.NUMBER: Concat(Cast(weight, CharField()), Value(" kg")),
            kind.CHOICE: KT("choices__0"),  # the first option: never a failing one in the starter library
        }
        for response_kind, value in values.items():
            done.filter(response_kind=response_kind).update(
                status=Task.Status.DONE,
                value=value,
                completed_by=_member(OuterRef("role")),
                completed_at=ExpressionWrapper(F("due_at") + dt.timedelta(minutes=20), output_field=DateTimeField()),
            )
        # Older independent checks were done by a second member of the verifier's role (a nurse when any).
        verifier_role = Coalesce(NullIf(OuterRef("verifier_role"), Value("")), Value("nurse"))
        Task.objects.filter(
            status=Task.Status.DONE, needs_verification=True, verified_by__isnull=True, due_at__lt=settled_before
        ).update(
            verified_by=_member(verifier_role, last=True, not_user=OuterRef("completed_by_id")),
            verified_at=ExpressionWrapper(F("due_at") + dt.timedelta(minutes=45), output_field=DateTimeField()),
        )
        # A quarter of the next day's work is claimed already.
        upcoming = Task.objects.filter(
            status=Task.Status.OPEN, assignee__isnull=True, due_at__gte=now, due_at__lt=now + dt.timedelta(hours=24)
        ).annotate(bucket=Mod("id", 8))
        upcoming.filter(bucket=0).update(assignee=_member(OuterRef("role")))
        upcoming.filter(bucket=1).update(assignee=_member(OuterRef("role"), last=True))

    _history()


def _history() -> None:
    """The history the patient page shows: completions, checks and not-applicable marks."""
    from django.db.models import OuterRef

    from checklists.models import Task, TaskActivity

    rows = []
    fields = ("pk", "checklist_id", "patient_id")
    Action = TaskActivity.Action
    for task_id, checklist_id, patient_id, completer, completed_at, value, verifier, verified_at in (
        Task.objects.filter(status=Task.Status.DONE)
        .values_list(*fields, "completed_by_id", "completed_at", "value", "verified_by_id", "verified_at")
        .iterator(chunk_size=5000)
    ):
        common = {"task_id": task_id, "checklist_id": checklist_id, "patient_id": patient_id}
        rows.append(TaskActivity(**common, actor_id=completer, action=Action.COMPLETE, at=completed_at, detail=value))
        if verifier:
            rows.append(TaskActivity(**common, actor_id=verifier, action=Action.VERIFY, at=verified_at))
    for task_id, checklist_id, patient_id, actor, at, reason in (
        Task.objects.filter(status=Task.Status.NOT_APPLICABLE)
        .annotate(actor=_member(OuterRef("role")))
        .values_list(*fields, "actor", "due_at", "not_applicable_reason")
        .iterator(chunk_size=5000)
    ):
        rows.append(
            TaskActivity(
                task_id=task_id,
                checklist_id=checklist_id,
                patient_id=patient_id,
                actor_id=actor,
                action=Action.NOT_APPLICABLE,
                at=at,
                detail=reason,
            )
        )
    TaskActivity.objects.bulk_create(rows, batch_size=5000)


def _notifications(users, *, now: dt.datetime, rng: random.Random) -> int:
    from coordination.models import Notification

    rows = []
    for user in users:
        if not user.role:
            continue
        for n in range(30):
            at = now - dt.timedelta(minutes=rng.randint(5, 14 * 24 * 60))
            rows.append(
                Notification(
                    recipient=user,
                    title=f"Task due in 2 hours ({n + 1})",
                    body="A task of yours falls due soon.",
                    link="/",
                    created_at=at,
                    read_at=None if n % 6 == 0 else at + dt.timedelta(minutes=30),
                )
            )
    Notification.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def summary() -> list[str]:
    """What the database holds, and the cast that the load measures."""
    from django.db.models import Count

    from accounts.models import User
    from checklists.models import Checklist, Task, TaskActivity
    from coordination.models import Notification
    from patients.models import CareEvent, Cycle, Patient, TreatmentCourse

    roles = Counter(dict(User.objects.values_list("role").annotate(n=Count("pk")).values_list("role", "n")))
    statuses = dict(Task.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    lines = [
        f"users               {sum(roles.values())} ("
        + ", ".join(f"{n} {role or 'admin'}" for role, n in sorted(roles.items()))
        + ")",
        f"patients            {Patient.objects.count()} with {TreatmentCourse.objects.count()} courses, "
        f"{Cycle.objects.count()} cycles, {CareEvent.objects.count()} care events",
        f"checklists          {Checklist.objects.count()}",
        f"tasks               {sum(statuses.values())} ("
        + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        + f"; {Task.objects.filter(assignee__isnull=False, status='open').count()} open ones claimed)",
        f"history rows        {TaskActivity.objects.count()}",
        f"notifications       {Notification.objects.count()} "
        f"({Notification.objects.filter(read_at__isnull=True).count()} unread)",
    ]
    cast = load_cast()
    lines.append(
        f"load cast           nurse {cast.nurse.username} (on {cast.nurse_patients} patients' teams, "
        f"{cast.my_work_rows} rows in My work), patient {cast.patient.mrn} ({cast.patient_tasks} tasks), "
        f"coordinator {cast.coordinator.username}"
    )
    return lines


@dataclass
class LoadCast:
    nurse: object
    nurse_patients: int
    my_work_rows: int
    patient: object
    patient_tasks: int
    coordinator: object


def load_cast() -> LoadCast:
    """The users and patient whose pages the load measures: a ward nurse, the patient of her
    team with the median number of tasks, and her ward's coordinator."""
    from django.db.models import Count

    from accounts.models import User
    from checklists.selectors import my_work
    from coordination.worklist.forms import MyWorkFilter
    from patients.models import Patient
    from patients.selectors import patients_for_user

    nurse = User.objects.get(username=LOAD_NURSE)
    patients = list(
        Patient.objects.filter(care_team__user=nurse).annotate(task_count=Count("tasks")).order_by("task_count", "pk")
    )
    patient = patients[len(patients) // 2]
    rows = MyWorkFilter(None, queryset=my_work(nurse), user=nurse, patients=patients_for_user(nurse)).qs.count()
    return LoadCast(
        nurse=nurse,
        nurse_patients=len(patients),
        my_work_rows=rows,
        patient=patient,
        patient_tasks=patient.task_count,
        coordinator=User.objects.get(username=LOAD_COORDINATOR),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench generate", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000, help="active patients (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7): the same data every time")
    parser.add_argument("--database", default=LOAD_DATABASE, help=f"its name (default {LOAD_DATABASE})")
    args = parser.parse_args(argv)

    url = bench_url(args.database)
    started = time.perf_counter()
    recreate(url)
    _setup_django(url)
    from django.db import connection
    from django.utils import timezone

    from checklists.starter import starter_library_load
    from patients.services import regimen_library_seed

    rng = random.Random(args.seed)
    regimen_library_seed()
    starter_library_load()
    print(f"database            {args.database} on {connection.settings_dict['HOST']} (created; kept for the load)")
    ward_units, staff = _staff(rng, ward_count(args.patients))
    _, courses = _patients(count=args.patients, ward_units=ward_units, staff=staff, rng=rng)
    print(f"  {len(staff.users)} users, {args.patients} patients and courses ({time.perf_counter() - started:.0f} s)")
    _schedule(courses)
    now = timezone.now()
    _settle(now=now)
    _notifications(staff.users, now=now, rng=rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    for line in summary():
        print(line)
    print(f"time                {time.perf_counter() - started:.0f} s")
    print(f"password            {BENCH_PASSWORD} for every user (try `python -m bench load`)")
