"""Reminders: delivery throughput through Redis and a real worker, and the sweep over a million tasks.

    python -m bench reminders [--tasks 10000] [--batch 200] [--concurrency 2] [--rounds 3]
                              [--sweep-tasks 1000000] [--sweep-open 100000] [--runs 20]
                              [--only delivery|sweep] [--broker redis://…] [--keep]

It never touches the database named in DATABASE_URL: each part creates its own database on that
server (`care_bench_reminders`, `care_bench_sweep`; dropped first if they exist, dropped again at
the end unless --keep). Unless --broker names one, it starts its own redis-server on a free port
(no persistence) and stops it at the end.

1. Delivery. `--tasks` open tasks (40 items on each of tasks/40 events, one nurse a patient, who
   has claimed them), all due 5 minutes ago: one overdue reminder each, in-app and by email to a
   file backend. One worker (`celery -A bench.reminders worker -P prefork -c 2`: the project's
   app and settings; `bench.reminders` only adds a no-op task) runs `--rounds` rounds of:
   - the no-op drain: `--tasks` no-op tasks (acks_late, as delivery) queued while the worker
     does not consume their queue, then it is told to; the clock runs until the queue and the
     unacknowledged set are empty;
   - the reminders: the bench runs the sweep (which writes the reminders and hands them over in
     batches of `--batch`), and the clock stops when no reminder is pending; then it checks the
     ledger, the bell and the email files: each reminder exactly once.
   Reported per round and as medians, with the worker's CPU per task and per reminder.
2. Sweep. `--sweep-tasks` tasks (40 a checklist) of which `--sweep-open` are open, written with
   SQL (audit triggers off for the fill only); the open ones belong to events spread from a day
   ago to 30 days ahead, the done ones to the 60 days before now. Measured: the first sweep
   (which writes every reminder due), then `--runs` sweeps a minute apart (what beat runs every
   minute: what fell due that minute), and the EXPLAIN ANALYZE of the rules' task queries (the
   partial index `open_task_due_idx`).
"""

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from config.celery import app

from .db import bench_url, recreate

DELIVERY_DATABASE = "care_bench_reminders"
SWEEP_DATABASE = "care_bench_sweep"
ITEMS = 40
ROOT = Path(__file__).resolve().parent.parent


@app.task(name="bench.noop", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def noop() -> None:
    """The yardstick: a task that does nothing, with the delivery task's acknowledgement settings."""


# --- processes ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(condition, timeout: float, what: str, every: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"Timed out after {timeout} s waiting for {what}")


class OwnRedis:
    def __init__(self, directory: str):
        server = shutil.which("redis-server")
        if not server:
            raise SystemExit("redis-server is not on the PATH: pass --broker redis://…")
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        command = [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _django(url: str, broker: str, email_dir: str | None = None) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["CELERY_BROKER_URL"] = broker
    if email_dir:
        os.environ["EMAIL_URL"] = f"filemail:///{email_dir}"  # four slashes: django-environ drops one
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- 1. delivery --------------------------------------------------------------------------------------


def _fill_due_work(tasks: int) -> int:
    """tasks/40 patients, each with one nurse on the care team and one event 5 minutes ago whose
    40 tasks the nurse has claimed: one overdue reminder a task, to one person."""
    from django.utils import timezone

    from accounts.models import Organisation, Role, Unit, User
    from checklists.models import ChecklistTemplate, Task, TemplateItem
    from checklists.services import checklists_instantiate, template_version_new_draft, template_version_publish
    from patients.models import (
        CareEvent,
        CareTeamMember,
        Cycle,
        Indication,
        Patient,
        RegimenVersion,
        Setting,
        TreatmentCourse,
    )

    events = tasks // ITEMS
    organisation = Organisation.objects.create(name="Bench Hospital")
    unit = Unit.objects.create(
        organisation=organisation, name="Haematology", kind=Unit.Kind.INPATIENT_WARD, time_zone="Europe/Paris"
    )
    template = ChecklistTemplate.objects.create(name="Bag change", trigger_kind=CareEvent.Kind.BAG_CHANGE)
    draft = template_version_new_draft(template=template, actor=None)
    TemplateItem.objects.bulk_create(
        TemplateItem(version=draft, order=n + 1, section="Bag change", text=f"Check {n + 1}", role=Role.NURSE)
        for n in range(ITEMS)
    )
    template_version_publish(version=draft, actor=None, change_summary="Bench")
    nurses = User.objects.bulk_create(
        User(username=f"nurse{n:04d}", email=f"nurse{n:04d}@example.org", role=Role.NURSE, unit=unit)
        for n in range(events)
    )
    now = timezone.now()
    patients = Patient.objects.bulk_create(
        Patient(
            organisation=organisation,
            unit=unit,
            mrn=f"B{n:06d}",
            given_name="Bench",
            family_name=f"Patient {n}",
            birth_date=dt.date(1970, 1, 1),
            sex=Patient.Sex.FEMALE,
            weight_kg=70,
            weight_measured_on=now.date(),
            height_cm=170,
        )
        for n in range(events)
    )
    CareTeamMember.objects.bulk_create(
        CareTeamMember(patient=p, user=u, role=Role.NURSE) for p, u in zip(patients, nurses, strict=True)
    )
    regimen = RegimenVersion.objects.get(regimen__indication=Indication.MRD_POSITIVE, status="published")
    courses = TreatmentCourse.objects.bulk_create(
        TreatmentCourse(
            patient=p,
            indication=Indication.MRD_POSITIVE,
            regimen_version=regimen,
            planned_cycles=1,
            start_date=now.date(),
        )
        for p in patients
    )
    cycles = Cycle.objects.bulk_create(
        Cycle(course=c, number=1, phase=Cycle.Phase.INDUCTION, start_date=now.date()) for c in courses
    )
    made = CareEvent.objects.bulk_create(
        CareEvent(
            patient_id=c.course.patient_id,
            cycle=c,
            kind=CareEvent.Kind.BAG_CHANGE,
            setting=Setting.HOME,
            planned_at=now - dt.timedelta(minutes=5),
        )
        for c in cycles
    )
    checklists_instantiate(events=made)
    nurse_of = {p.pk: u.pk for p, u in zip(patients, nurses, strict=True)}
    for patient_id, nurse_id in nurse_of.items():
        Task.objects.filter(patient_id=patient_id).update(assignee_id=nurse_id)
    return Task.objects.filter(status=Task.Status.OPEN).count()


def _drained(client, queue: str = "celery") -> bool:
    return client.llen(queue) == 0 and client.hlen("unacked") == 0


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU of these processes so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _worker_pids(worker: subprocess.Popen) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
    return [worker.pid, *map(int, children)]


def _noop_round(count: int, client, node: str, pids: list[int]) -> tuple[float, float]:
    """The worker's drain rate: `count` no-op tasks queued while the worker does not consume their
    queue, then it is told to, and the clock runs until the queue and the unacknowledged set are
    empty. Returns (tasks per second, worker CPU ms per task)."""
    app.control.cancel_consumer("celery", destination=[node], reply=True, timeout=10)
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            noop.apply_async(producer=producer)
    cpu = _cpu_seconds(pids)
    started = time.perf_counter()
    app.control.add_consumer("celery", destination=[node], reply=True, timeout=10)
    _wait(lambda: _drained(client), 600, "the no-op tasks to drain")
    elapsed = time.perf_counter() - started
    return count / elapsed, (_cpu_seconds(pids) - cpu) * 1000 / count


def _reminder_round(email_dir: str, pids: list[int]) -> tuple[float, float, float]:
    """From the sweep until no reminder is pending: the due tasks' reminders written, handed over
    and delivered. Returns (reminders per second, worker CPU ms per reminder, the sweep's seconds)."""
    from django.db import connection

    from coordination.models import Notification, Reminder
    from coordination.reminders.sweep import reminders_sweep

    with connection.cursor() as cursor:  # a fresh start for each round: the same tasks are due again
        cursor.execute("TRUNCATE coordination_reminder, coordination_notification")
    for path in Path(email_dir).iterdir():
        path.unlink()
    cpu = _cpu_seconds(pids)
    started = time.perf_counter()
    sweep = reminders_sweep()
    swept = time.perf_counter() - started
    pending = Reminder.objects.filter(state=Reminder.State.PENDING)
    _wait(lambda: not pending.exists(), 600, "every reminder delivered", every=0.05)
    elapsed = time.perf_counter() - started
    count = len(sweep.new_ids)
    sent = Reminder.objects.filter(state=Reminder.State.SENT).count()
    emails = _emails(email_dir)
    if not (sent == count == Notification.objects.count() == len(emails) == len(set(emails))):
        raise SystemExit(f"a reminder was lost or doubled: {count} written, {sent} sent, {len(emails)} emails")
    return count / elapsed, (_cpu_seconds(pids) - cpu) * 1000 / count, swept


def _emails(directory: str) -> list[bytes]:
    found = []
    for path in Path(directory).iterdir():
        found += re.findall(rb"^Message-ID: (<reminder-\d+@[^>]+>)", path.read_bytes(), re.M)
    return found


def delivery(args, broker: str, work: str) -> None:
    email_dir = tempfile.mkdtemp(prefix="mail-", dir=work)
    url = bench_url(DELIVERY_DATABASE)
    recreate(url)
    worker = None
    try:
        _django(url, broker, email_dir)
        import redis
        from django.db import connections

        started = time.perf_counter()
        due = _fill_due_work(args.tasks)
        print(f"set-up              {due} open tasks due 5 minutes ago, in {time.perf_counter() - started:.1f} s")
        connections.close_all()

        env = {**os.environ, "REMINDER_BATCH_SIZE": str(args.batch), "PYTHONUNBUFFERED": "1"}
        log = open(Path(work) / "worker.log", "ab")  # noqa: SIM115 (closed when the bench ends)
        node = f"bench-reminders-{os.getpid()}@localhost"
        command = [sys.executable, "-m", "celery", "-A", "bench.reminders", "worker", "-n", node]
        command += ["-P", "prefork", "-c", str(args.concurrency), "--loglevel=WARNING"]
        command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "-Q", "celery,bench_idle"]
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        client = redis.Redis.from_url(broker)
        for _ in range(2 * args.concurrency):  # the worker is up and its pool processes have run once
            noop.apply_async(queue="bench_idle")
        _wait(lambda: _drained(client, "bench_idle"), 120, "the worker to start")
        pids = _worker_pids(worker)
        print(
            f"worker              prefork, {args.concurrency} processes, batches of {args.batch}, "
            f"{os.environ.get('REMINDER_SEND_LANES', 4)} sending lanes a batch"
        )

        rounds = []
        for number in range(1, args.rounds + 1):
            noop_rate, noop_cpu = _noop_round(args.tasks, client, node, pids)
            rate, cpu, swept = _reminder_round(email_dir, pids)
            rounds.append((noop_rate, rate))
            print(
                f"round {number}             no-op {noop_rate:4.0f} tasks/s ({noop_cpu:.2f} ms worker CPU each); "
                f"reminders {rate:4.0f}/s ({cpu:.2f} ms worker CPU each, sweep {swept:.2f} s): {rate / noop_rate:.2f}x"
            )
        # Each round's two runs are minutes apart on a shared machine: their ratio is the fair one.
        ratios = [rate / noop_rate for noop_rate, rate in rounds]
        print(
            f"median              no-op {statistics.median(r[0] for r in rounds):.0f} tasks/s, reminders "
            f"{statistics.median(r[1] for r in rounds):.0f}/s; ratio {statistics.median(ratios):.2f}x "
            f"(median of the rounds' {', '.join(f'{ratio:.2f}' for ratio in ratios)})"
        )
        print(
            f"checked             every round: each reminder sent once in the ledger, one bell notification "
            f"and one email each ({args.tasks} Message-IDs, none repeated)"
        )
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(60)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            recreate(url, drop_only=True)


# --- 2. the sweep over a million tasks ----------------------------------------------------------------------

FILL_SQL = """
-- The fill only: no audit (or immutability) triggers on a million synthetic rows.
SET session_replication_role = replica;
INSERT INTO accounts_organisation (name) VALUES ('Bench Hospital');
INSERT INTO accounts_unit (organisation_id, name, kind, time_zone)
    SELECT id, 'Ward ' || w, 'inpatient_ward', 'Europe/Paris' FROM accounts_organisation, generate_series(1, 5) w;
INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                           date_joined, role, unit_id, session_epoch)
    SELECT '!', false, 'nurse' || n, '', '', 'nurse' || n || '@example.org', false, true, now(), 'nurse',
           (SELECT min(id) FROM accounts_unit) + n % 5, 0
    FROM generate_series(0, 199) n;
INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                           date_joined, role, unit_id, session_epoch)
    SELECT '!', false, 'coordinator' || u.id, '', '', '', false, true, now(), 'coordinator', u.id, 0
    FROM accounts_unit u;
INSERT INTO patients_patient (organisation_id, mrn, given_name, family_name, birth_date, sex, weight_kg,
                              weight_measured_on, height_cm, unit_id)
    SELECT (SELECT id FROM accounts_organisation), 'B' || lpad(n::text, 6, '0'), 'Bench', 'Patient ' || n,
           '1970-01-01', 'female', 70, current_date, 170, (SELECT min(id) FROM accounts_unit) + n % 5
    FROM generate_series(0, {patients} - 1) n;
INSERT INTO patients_careteammember (patient_id, user_id, role, added_at)
    SELECT p.id, (SELECT min(id) FROM accounts_user) + (p.id * 7 + k) % 200, 'nurse', now()
    FROM patients_patient p, generate_series(0, 1) k;
INSERT INTO patients_treatmentcourse (patient_id, regimen, indication, planned_cycles, start_date, status,
                                      bag_hours, outpatient_setting, regimen_version_id)
    SELECT id, 'blinatumomab', 'mrd_positive', 4, current_date - 60, 'active', 48, 'home',
           (SELECT v.id FROM patients_regimenversion v JOIN patients_regimen r ON r.id = v.regimen_id
            WHERE r.indication = 'mrd_positive' AND v.status = 'published')
    FROM patients_patient;
INSERT INTO patients_cycle (course_id, number, phase, start_date, infusion_days, rest_days, inpatient_days)
    SELECT id, 1, 'induction', current_date - 60, 28, 14, 0 FROM patients_treatmentcourse;
-- events: per patient, `per_patient` of them; the first `open_events` (by id) are the open ones,
-- spread from 1 day ago to 30 days ahead; the others are done, spread over the 60 days before now.
INSERT INTO patients_careevent (patient_id, cycle_id, kind, sequence, scheduled, setting, planned_at, status, note)
    SELECT c.patient_id, cy.id, 'bag_change', e, false, 'home', now(), 'done', ''
    FROM patients_cycle cy JOIN patients_treatmentcourse c ON c.id = cy.course_id, generate_series(1, {per_patient}) e;
WITH numbered AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM patients_careevent)
UPDATE patients_careevent ev SET
    status = CASE WHEN numbered.n < {open_events} THEN 'planned' ELSE 'done' END,
    planned_at = CASE WHEN numbered.n < {open_events}
        THEN now() - interval '1 day' + (numbered.n::float / {open_events}) * interval '31 days'
        ELSE now() - ((numbered.n - {open_events})::float / ({events} - {open_events})) * interval '60 days'
             - interval '1 day' END
FROM numbered WHERE numbered.id = ev.id;
INSERT INTO checklists_checklisttemplate (name, trigger_kind, description, is_active)
    VALUES ('Bag change', 'bag_change', '', true);
INSERT INTO checklists_templateversion (template_id, number, status, change_summary, created_at, published_at)
    SELECT id, 1, 'published', 'Bench', now(), now() FROM checklists_checklisttemplate;
INSERT INTO checklists_templateitem (version_id, key, section, "order", text, help_text, role, due_offset_minutes,
    response_kind, unit, choices, failing_choices, required, hard_stop, needs_verification, verifier_role)
    SELECT v.id, gen_random_uuid(), 'Bag change', i, 'Check ' || i, '', 'nurse', -60 * (i % 8), 'checkbox', '',
           '[]', '[]', true, i % 10 = 0, false, ''
    FROM checklists_templateversion v, generate_series(1, 40) i;
INSERT INTO checklists_checklist (event_id, template_id, version_id, created_at, override_reason, overridden_blockers)
    SELECT e.id, v.template_id, v.id, now(), '', '[]' FROM patients_careevent e, checklists_templateversion v;
INSERT INTO checklists_task (checklist_id, item_id, patient_id, event_id, due_at, status, assignee_id, value,
    hard_stop_failed, completed_by_id, completed_at, not_applicable_reason, section, "order", text, help_text, role,
    due_offset_minutes, response_kind, unit, choices, failing_choices, required, hard_stop, needs_verification,
    verifier_role)
    SELECT cl.id, i.id, e.patient_id, e.id, e.planned_at + i.due_offset_minutes * interval '1 minute',
           CASE WHEN e.status = 'planned' THEN 'open' ELSE 'done' END, NULL,
           CASE WHEN e.status = 'planned' THEN '' ELSE 'yes' END, false,
           CASE WHEN e.status = 'planned' THEN NULL ELSE (SELECT min(id) FROM accounts_user) END,
           CASE WHEN e.status = 'planned' THEN NULL ELSE e.planned_at END, '',
           i.section, i."order", i.text, '', i.role, i.due_offset_minutes, i.response_kind, '', '[]', '[]',
           i.required, i.hard_stop, false, ''
    FROM checklists_checklist cl JOIN patients_careevent e ON e.id = cl.event_id
    JOIN checklists_templateitem i ON i.version_id = cl.version_id;
SET session_replication_role = DEFAULT;
ANALYZE;
"""


def _explain_task_queries(now) -> list[tuple[str, str]]:
    from coordination.models import Reminder
    from coordination.reminders.rules import catch_up, open_tasks_without

    Kind = Reminder.Kind
    queries = {
        "due soon": open_tasks_without(Kind.DUE_SOON, due_after=now, due_until=now + dt.timedelta(hours=2), now=now),
        "overdue": open_tasks_without(Kind.OVERDUE, due_after=now - catch_up(), due_until=now, now=now),
        "escalation": open_tasks_without(
            Kind.ESCALATION,
            due_after=now - catch_up() - dt.timedelta(hours=1),
            due_until=now - dt.timedelta(minutes=15),
            now=now,
            unless_snoozed=False,
        ),
    }
    return [(name, query.explain(analyze=True, buffers=True)) for name, query in queries.items()]


def sweep(args, broker: str) -> None:
    url = bench_url(SWEEP_DATABASE)
    recreate(url)
    try:
        _django(url, "memory://")  # the sweep's hand-over goes to an in-process broker: no worker here
        from django.db import connection
        from django.utils import timezone

        from checklists.models import Task
        from coordination.models import Reminder
        from coordination.reminders.sweep import reminders_sweep

        events = args.sweep_tasks // ITEMS
        patients = max(1, events // 25)
        params = {
            "patients": patients,
            "per_patient": events // patients,
            "events": events,
            "open_events": args.sweep_open // ITEMS,
        }
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for statement in _statements(FILL_SQL):
                cursor.execute(statement.format(**params))
        filled = time.perf_counter() - started
        total = Task.objects.count()
        open_count = Task.objects.filter(status=Task.Status.OPEN).count()
        print(f"set-up              {total} tasks, {open_count} open, written with SQL in {filled:.0f} s")

        now = timezone.now()
        started = time.perf_counter()
        first = reminders_sweep(now=now)
        cold = time.perf_counter() - started
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(first.created.items()))
        print(f"first sweep         {cold * 1000:.0f} ms: wrote {len(first.new_ids)} reminders ({kinds})")

        # No worker here: what each sweep wrote is marked delivered, as a worker would within seconds
        # (else the sweep would hand it all over again after REMINDER_REDISPATCH_SECONDS).
        delivered = Reminder.objects.filter(state=Reminder.State.PENDING)
        delivered.update(state=Reminder.State.SENT, sent_at=now)
        times, written = [], []
        for minute in range(1, args.runs + 1):
            started = time.perf_counter()
            result = reminders_sweep(now=now + dt.timedelta(minutes=minute))
            times.append(time.perf_counter() - started)
            written.append(len(result.new_ids))
            delivered.update(state=Reminder.State.SENT, sent_at=now + dt.timedelta(minutes=minute))
        times_ms = sorted(t * 1000 for t in times)
        print(
            f"sweeps a minute on  {args.runs} runs: median {statistics.median(times_ms):.1f} ms, "
            f"p95 {times_ms[int(0.95 * (len(times_ms) - 1))]:.1f} ms, max {times_ms[-1]:.1f} ms; "
            f"reminders written per run: median {statistics.median(written):.0f}, max {max(written)}"
        )
        print(f"ledger              {Reminder.objects.count()} reminders")
        for name, plan in _explain_task_queries(now + dt.timedelta(minutes=args.runs)):
            print(f"\nEXPLAIN ANALYZE, {name}:\n{plan}")
            if "open_task_due_idx" not in plan:
                raise SystemExit(f"the {name} query does not use open_task_due_idx")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            recreate(url, drop_only=True)


def _statements(sql: str) -> list[str]:
    """The fill's statements, one at a time (psycopg sends one statement with parameters)."""
    lines = [line.split("--")[0] if line.strip().startswith("--") else line for line in sql.splitlines()]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench reminders", description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="due tasks, one reminder each (default 10000)")
    parser.add_argument("--batch", type=int, default=200, help="reminder ids per delivery task (default 200)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker pool processes (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="no-op and reminder runs, alternated (default 3)")
    parser.add_argument("--sweep-tasks", type=int, default=1_000_000, help="tasks for the sweep (default 1000000)")
    parser.add_argument("--sweep-open", type=int, default=100_000, help="of which open (default 100000)")
    parser.add_argument("--runs", type=int, default=20, help="sweeps a minute apart to time (default 20)")
    parser.add_argument("--only", choices=["delivery", "sweep"], help="run one part")
    parser.add_argument("--broker", help="a Redis to use (default: start a redis-server of its own)")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    args = parser.parse_args(argv)

    if args.only is None:  # each part sets Django up for its own database: one process each
        for part in ("delivery", "sweep"):
            print(f"== {part}")
            subprocess.run([sys.executable, "-m", "bench", "reminders", *(argv or []), "--only", part], check=True)
        return

    url = urlsplit(bench_url(DELIVERY_DATABASE))
    print(f"database            {DELIVERY_DATABASE if args.only == 'delivery' else SWEEP_DATABASE} on {url.hostname}")
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as work:
        own = None if args.broker or args.only == "sweep" else OwnRedis(work)
        broker = args.broker or (own.url if own else "memory://")
        try:
            if args.only == "delivery":
                print(f"broker              {broker}{' (started by the bench)' if own else ''}")
                delivery(args, broker, work)
            else:
                sweep(args, broker)
        finally:
            if own:
                own.stop()
