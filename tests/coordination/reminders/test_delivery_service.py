"""Reminders through a real Celery worker, real beats and a real Redis, started by the test.

Each test writes due work into the test database (committed: transactional), starts its own
redis-server on a free port (without persistence), a worker (`-P prefork -c 2`) and beat(s)
pointed at that database and that Redis, with email written to files, breaks something, and
ends by counting: every reminder in the ledger sent once, one bell notification each, and
one email each (counted by Message-ID in the files).

- a worker killed with SIGKILL in the middle of a batch of 100 (of 200 reminders), then restarted;
- Redis restarted without persistence while delivery messages are queued;
- two beats at once.

The sweep runs every second and hands unsent reminders over again after 30 seconds here
(REMINDER_SWEEP_SECONDS, REMINDER_REDISPATCH_SECONDS), instead of every minute and after 5
minutes in production.
"""

import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from checklists.services import checklists_instantiate
from coordination.models import Notification, Reminder

from ...checklists.helpers import make_event, publish_template

pytestmark = [pytest.mark.service, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
REDIS_SERVER = shutil.which("redis-server")
TIMEOUT = 120  # seconds for everything due to be delivered; a run takes a fraction of it
# The lease after which a claim counts as cut short. A living worker whose batch outlasts it has
# its first reminder marked in doubt too (delivery._first_of_lapsed_claims), which the kill test's
# bound (one a lane of the killed processes) does not count: beside the full suite a batch once
# outlasted 15 s (9 in doubt against 8, 2026-12-06), so the lease here is 30 s.
LEASE_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, *, timeout: float, what: str, every: float = 0.05, progress=None):
    """Wait until `condition()` is truthy; `progress()`, if given, says in the failure how far it got."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    reached = f" (reached: {progress()})" if progress else ""
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}{reached}")


class RedisServer:
    """A redis-server of the test's own, without persistence: a restart loses every message."""

    def __init__(self, directory: Path):
        assert REDIS_SERVER, "the service tests need redis-server on the PATH"
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(command, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._answers, timeout=10, what="redis-server to answer")

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM with --save "": no snapshot, everything is lost
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def queued(self) -> int:
        return self.client.llen("celery")


class Processes:
    """Celery workers and beats, each in its own process group so that a kill takes its children."""

    def __init__(self, directory: Path, env: dict):
        self.directory, self.env = directory, env
        self.running: list[subprocess.Popen] = []
        self.supervised_processes: list[Supervisor] = []

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.directory / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def worker(self, name: str = "worker") -> subprocess.Popen:
        return self._spawn(
            name,
            ["worker", "-P", "prefork", "-c", "2", "-n", f"{name}-{os.getpid()}@%h", "--loglevel=INFO"]
            + ["--without-heartbeat", "--without-gossip", "--without-mingle"],
        )

    def beat(self, name: str = "beat") -> subprocess.Popen:
        return self._spawn(name, ["beat", "--loglevel=INFO", "--schedule", str(self.directory / f"{name}-schedule")])

    def kill(self, process: subprocess.Popen) -> None:
        """kill -9, the worker and its pool processes at once, as an out-of-memory killer would."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def freeze_mid_batch(self, worker: subprocess.Popen, mid_batch, *, after: int) -> int:
        """Stop the worker and its pool (SIGSTOP) at an instant when a batch is half sent (`mid_batch`
        exists: bells rung, emails still to go), once `after` reminders are sent; the reminders
        sent then. A batch can finish between a look and a kill, all the more on a busy machine:
        so the worker is frozen first, looked at again, and let go to try again if it was too late."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            wait_for(
                lambda: sent() >= after and mid_batch.exists(), timeout=TIMEOUT, what="a batch half sent", every=0.005
            )
            os.killpg(worker.pid, signal.SIGSTOP)
            time.sleep(0.1)  # a commit already on its way to PostgreSQL lands
            if mid_batch.exists():
                return sent()
            os.killpg(worker.pid, signal.SIGCONT)
        raise AssertionError(f"Never caught a batch half sent in {TIMEOUT} s")

    def supervised(self, start, name: str) -> "Supervisor":
        """`start(name)` (a worker or a beat), started again whenever it exits, as production's
        supervisor does (docker-compose's `restart: unless-stopped`, systemd's Restart=): kombu
        5.7's Redis transport can raise an AttributeError while closing a connection whose server
        is down (the worker's log says "Unrecoverable error"), and the worker then exits instead
        of reconnecting."""
        supervisor = Supervisor(lambda number: start(f"{name}-again-{number}" if number else name))
        self.supervised_processes.append(supervisor)
        return supervisor

    def stop_all(self) -> None:
        """At the end of the test, when everything has been counted: no warm shutdown to wait for."""
        for supervisor in self.supervised_processes:
            supervisor.stop()
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        for process in self.running:
            process.wait(10)


class Supervisor:
    """Starts a process, and starts it again within a second of its exit until stopped."""

    def __init__(self, start):
        self.start, self.restarts = start, 0
        self.process = start(0)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            if self.process.poll() is not None:
                self.restarts += 1
                self.process = self.start(self.restarts)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)


@pytest.fixture
def maildir(tmp_path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def broker(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery_processes(tmp_path, broker, maildir):
    """The worker and beats' environment: this test's database, this test's Redis, file email."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    server = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{server}/{db['NAME']}",
        "CELERY_BROKER_URL": broker.url,
        "EMAIL_URL": f"filemail:///{maildir}",  # four slashes: django-environ drops the first of the path
        "SITE_URL": "http://tracker.test",
        "REMINDER_SWEEP_SECONDS": "1",
        # The lease of a claimed batch. `make test` runs these tests beside the xdist workers: on
        # that busy machine a live worker's batch can take more than 5 s, and its lapsed lease
        # would mark a reminder in doubt that no kill left so.
        "REMINDER_REDISPATCH_SECONDS": str(LEASE_SECONDS),
        "REMINDER_BATCH_SIZE": "100",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "PYTHONUNBUFFERED": "1",
    }
    processes = Processes(tmp_path, env)
    yield processes
    processes.stop_all()


def due_work(patient, *, events: int, items: int, due_at: dt.datetime) -> int:
    """`events` events of `items` nurse tasks each, all due at `due_at`: one overdue reminder
    each for the patient's one nurse once that time has come."""
    publish_template(items=[{"text": f"Check {n + 1}"} for n in range(items)])
    made = [make_event(patient, planned_at=due_at) for _ in range(events)]
    checklists_instantiate(events=made)
    return events * items


def emails(maildir: Path) -> list[int]:
    """The reminder id of every email in the files (by Message-ID), repeats included."""
    found = []
    for path in maildir.iterdir():
        found += [int(pk) for pk in re.findall(rb"^Message-ID: <reminder-(\d+)@", path.read_bytes(), re.M)]
    return found


def sent() -> int:
    return Reminder.objects.filter(state=Reminder.State.SENT).count()


def assert_delivered_exactly_once(expected: int, maildir: Path, kinds=(Reminder.Kind.OVERDUE,)) -> dict:
    """Every reminder sent once: in the ledger, on the bell and by email. Returns the counts."""
    reminders = Reminder.objects.all()
    assert reminders.count() == expected
    assert set(reminders.values_list("kind", "state")) == {(kind, Reminder.State.SENT) for kind in kinds}
    assert Notification.objects.count() == expected
    ids = emails(maildir)
    assert sorted(set(ids)) == sorted(reminders.values_list("pk", flat=True)), "a reminder's email is missing"
    repeated = {pk for pk, count in Counter(ids).items() if count > 1}
    in_doubt = set(reminders.filter(in_doubt=True).values_list("pk", flat=True))
    assert repeated <= in_doubt, "an email went twice without the ledger saying so"
    return {"emails": len(ids), "repeated": len(repeated), "in_doubt": len(in_doubt)}


# --- the tests -----------------------------------------------------------------------------------------


def test_a_worker_killed_mid_batch_and_restarted_delivers_every_reminder_once(
    patient, nurse, celery_processes, maildir, capsys
):
    # 200 reminders in batches of 100: the kill lands in the first batch with the second queued
    # behind it, which is all the test needs; more reminders only cost the machine CPU.
    expected = due_work(patient, events=8, items=25, due_at=timezone.now() - dt.timedelta(minutes=10))
    assert expected == 200
    worker = celery_processes.worker()
    celery_processes.beat()

    # In the middle of a batch: its bells have rung, and some of its emails are still to go.
    mid_batch = Reminder.objects.filter(state=Reminder.State.PENDING, notified_at__isnull=False)
    at_kill = celery_processes.freeze_mid_batch(worker, mid_batch, after=75)
    celery_processes.kill(worker)
    unfinished = Reminder.objects.exclude(state=Reminder.State.SENT).count()
    rung_not_sent = mid_batch.count()
    assert Reminder.objects.count() == expected and 0 < unfinished < expected, "the kill came too late"
    assert rung_not_sent > 0, "the kill did not land in the middle of a batch"

    celery_processes.worker("worker-again")
    wait_for(lambda: sent() == expected, timeout=TIMEOUT, what="every reminder sent after the restart")
    time.sleep(3)  # what a late or repeated message would do, it does now
    counts = assert_delivered_exactly_once(expected, maildir)
    # At most the one email in flight in each sending lane of the 2 killed pool processes.
    assert counts["in_doubt"] <= 2 * settings.REMINDER_SEND_LANES
    with capsys.disabled():
        print(
            f"\n[kill -9] {at_kill} sent at the kill, {unfinished} unfinished ({rung_not_sent} rung, email not "
            f"sent yet); after the restart {expected} sent once; emails {counts['emails']}, "
            f"in doubt {counts['in_doubt']}, repeated {counts['repeated']}"
        )


def test_redis_restarted_without_persistence_while_messages_wait_loses_no_reminder(
    patient, nurse, broker, celery_processes, maildir, capsys
):
    celery_processes.env["REMINDER_BATCH_SIZE"] = "10"  # 25 messages: most of them wait in the queue
    expected = due_work(patient, events=10, items=25, due_at=timezone.now() - dt.timedelta(minutes=10))
    worker = celery_processes.supervised(celery_processes.worker, "worker")
    beat = celery_processes.supervised(celery_processes.beat, "beat")

    queued = wait_for(lambda: (n := broker.queued()) >= 12 and n, timeout=TIMEOUT, what="messages queued", every=0.01)
    before = broker.client.info("server")["run_id"]
    broker.restart()
    lost_at = sent()
    # A new Redis, started empty (no persistence): the queued messages are gone.
    assert broker.client.info("server")["run_id"] != before
    assert lost_at < expected, "the restart came too late"

    # Twice the usual wait: the lost messages' reminders come back only when their lease ends, and
    # the worker reconnects to the new Redis with a growing back-off; beside a full parallel suite
    # (make test) this once took more than 120 s (2026-12-06), alone 24 s.
    wait_for(
        lambda: sent() == expected,
        timeout=2 * TIMEOUT,
        what="every reminder sent after the Redis restart",
        progress=_by_kind,
    )
    time.sleep(3)
    counts = assert_delivered_exactly_once(expected, maildir)
    assert counts["emails"] == expected and counts["in_doubt"] == 0
    handed_over_again = Reminder.objects.filter(dispatch_count__gt=1).count()
    assert handed_over_again > 0  # the lost messages' reminders came back through the sweep
    with capsys.disabled():
        print(
            f"\n[Redis restart] {queued} messages queued, {lost_at} reminders sent at the restart; "
            f"{handed_over_again} handed over again; {expected} sent once, {counts['emails']} emails; "
            f"started again by their supervisor: worker {worker.restarts}, beat {beat.restarts}"
        )


def test_two_beats_at_once_send_every_reminder_once(patient, nurse, celery_processes, maildir, tmp_path, capsys):
    celery_processes.worker()
    celery_processes.beat("beat-1")
    celery_processes.beat("beat-2")
    # The work is written once both beats sweep (every second) and a worker takes their sweeps,
    # and falls due some seconds later: "due soon" for each task and "not ready" for each event
    # at the first sweep, "overdue" when it is due. Written before the processes were up (they
    # start slowly on a busy machine), it could fall due before any sweep, and "due soon" never come.
    logs = [tmp_path / name for name in ("beat-1.log", "beat-2.log", "worker.log")]
    wait_for(lambda: all(_sweeping(log) for log in logs), timeout=TIMEOUT, what="both beats sweeping")
    due_at = timezone.now() + dt.timedelta(seconds=15)
    tasks = due_work(patient, events=4, items=25, due_at=due_at)
    assert timezone.now() < due_at - dt.timedelta(seconds=3), "writing the work took longer than its lead"
    expected = 2 * tasks + 4

    wait_for(lambda: sent() == expected, timeout=TIMEOUT, what="every reminder sent", progress=_by_kind)
    time.sleep(3)
    kinds = (Reminder.Kind.DUE_SOON, Reminder.Kind.OVERDUE, Reminder.Kind.GATE_NOT_READY)
    counts = assert_delivered_exactly_once(expected, maildir, kinds)
    assert counts["emails"] == expected and counts["in_doubt"] == 0
    sweeps = [(tmp_path / f"beat-{n}.log").read_text().count("Sending due task reminders-sweep") for n in (1, 2)]
    assert min(sweeps) >= 5, sweeps  # both beats really did send sweeps all along
    with capsys.disabled():
        print(f"\n[two beats] sweeps sent {sweeps}; {expected} reminders sent once, {counts['emails']} emails")


def _sweeping(log: Path) -> bool:
    """A beat has sent a sweep, or the worker has run one."""
    if not log.exists():
        return False
    text = log.read_text(errors="replace")
    beat_sent = "Sending due task reminders-sweep" in text
    return beat_sent or ("coordination.reminders_sweep" in text and "succeeded" in text)


def _by_kind() -> dict:
    return dict(Counter(Reminder.objects.values_list("kind", "state")))
