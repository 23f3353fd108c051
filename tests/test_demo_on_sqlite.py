"""`make run`'s embedded default, as a newcomer gets it: the demo seeded and served on SQLite.

The suite runs on PostgreSQL, and SQLite refuses some SQL that PostgreSQL takes: an ordering
inside a UNION's part in the access policy once broke `seed_demo` there, and only the newcomer
check saw it (2026-12-06). So the demo's own commands run here on SQLite, in processes of their
own with `make run`'s settings, and its users open their pages. Marked `service`: it runs in the
serial process beside the others (`make test`), mostly waiting on its subprocesses.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.service

ROOT = Path(__file__).resolve().parent.parent
# Each user opens their home page and the pages their role has: the record, the lists, the API,
# FHIR; the coordinator and the administrator (after their second step) the board and the reports,
# whose SQL once worked on PostgreSQL only (JSON containment, ordered array aggregates).
LOOK = """
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from accounts.models import User
from patients.models import CareEvent, Patient
bruno = Patient.objects.get(mrn="RUH100002")
event = CareEvent.objects.filter(patient=bruno).order_by("planned_at").first()
record = [f"/patients/{bruno.pk}/", f"/events/{event.pk}/", f"/fhir/R4/Patient/{bruno.pk}/$everything"]
pages = {
    "nurse": ["/", "/patients/", "/handoffs/", "/alerts/", "/notifications/", "/accounts/security/", *record]
    + ["/api/v1/tasks/", "/fhir/R4/Patient"],
    "pharmacist": ["/", "/patients/"],
    "homenurse": ["/", "/handoffs/"],
    "casemanager": ["/", "/handoffs/"],
    "coordinator": ["/board/", "/board/not-ready/", "/board/overdue/", "/board/left-open/", "/reports/"]
    + ["/handoffs/review/", "/roster/"],
    "admin": ["/reports/", "/templates/", "/audit/", "/reminders/"],
}
# /healthz on the embedded defaults: SQLite and the filesystem broker under var/broker answer.
health = Client(HTTP_HOST="127.0.0.1").get("/healthz")
assert (health.status_code, health.json()) == (200, {"database": "ok", "broker": "ok"}), health.content
for name, paths in pages.items():
    client = Client(HTTP_HOST="127.0.0.1")
    user = User.objects.get(username=name)
    client.force_login(user)
    device = TOTPDevice.objects.get_or_create(user=user, confirmed=True, defaults={"name": "app"})[0]
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    for path in paths:
        status = client.get(path).status_code
        assert status == 200, (name, path, status)
print("every page answered")
"""

# The toxicity watch asks, at a seizure, for another one in the course (home checks' signs are a
# JSON list, whose containment SQLite has no SQL for): a nurse records two, as on the ward.
SEIZURES = """
from decimal import Decimal
from django.utils import timezone
from accounts.models import User
from coordination.watch.models import ToxicityAlert
from patients.models import Patient
from patients.services import check_in_record
bruno, nurse = Patient.objects.get(mrn="RUH100002"), User.objects.get(username="nurse")
for _ in range(2):
    check_in_record(
        patient=bruno, actor=nurse, checked_at=timezone.now(), temperature=Decimal("37.0"),
        temperature_unit="C", pump_status="running", signs=["seizure"],
    )
assert ToxicityAlert.objects.filter(patient=bruno, ask=ToxicityAlert.Ask.STOP_FOR_GOOD).exists()
print("the second seizure asks for a stop")
"""

# An id beyond any id, in a filter or a body: SQLite's integers overflow where PostgreSQL's compare
# (an OverflowError, a 500, on `make run` only); the API refuses it first, as a 400.
BEYOND_ANY_ID = """
import json
from django.test import Client
from accounts.models import User
from accounts.services import token_create
nurse = User.objects.get(username="nurse")
secret = token_create(
    user=nurse, name="Demo check", days=30, second_step_passed=True, actor=nurse, scope="read_write"
)[1]
client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")
answers = [
    client.get("/api/v1/tasks/?patient=99999999999999999999"),
    client.post("/api/v1/notifications/read/", json.dumps({"ids": [10**20]}), content_type="application/json"),
]
assert [answer.status_code for answer in answers] == [400, 400], [answer.content[:300] for answer in answers]
print("ids beyond any id are refused")
"""


def test_the_demo_seeds_and_serves_its_users_pages_on_sqlite(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_DEBUG="1",
        DEMO_PASSWORD="demo-Care-2026",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        EMAIL_URL=f"filemail:///{tmp_path / 'mail'}",
    )

    def manage(*arguments: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--noinput")
    assert "Demo data ready" in manage("seed_demo")
    assert "every page answered" in manage("shell", "-c", LOOK)
    assert "the second seizure asks for a stop" in manage("shell", "-c", SEIZURES)
    assert "ids beyond any id are refused" in manage("shell", "-c", BEYOND_ANY_ID)
