"""The cast: one unit with a patient whose care team holds every role, and an outsider.

Signing in: `client.force_login(user)` is the password step alone. Staff and coordinators
must also pass the second step, so tests that sign them in use
`tests.accounts.helpers.verified_login(client, user)`, which gives the user an authenticator
and a session that has passed it.
"""

import os
import re

import pytest

from accounts.models import Role

from . import database_roles, database_templates
from .accounts.helpers import SignInClient
from .factories import CareTeamMemberFactory, PatientFactory, UnitFactory, UserFactory


def pytest_configure(config):
    _redis_databases_of_this_worker()
    _audit_checkpoints_of_this_process()


def _audit_checkpoints_of_this_process():
    """Checkpoints of the audit chain go to a folder of this process's, never var/ (tests that
    seal and verify give each test its own: tests/accounts/test_audit_seal.py)."""
    import tempfile

    from django.conf import settings

    folder = tempfile.mkdtemp(prefix="audit-checkpoints-")
    settings.AUDIT_CHECKPOINT_DIR = os.environ["AUDIT_CHECKPOINT_DIR"] = folder


def _redis_databases_of_this_worker():
    """Under pytest-xdist (`make test`, `make test-quick`) the workers run at once, each on its
    own test database (pytest-django adds the worker's suffix: test_care_tracker_gw1). Redis is
    shared, and tests empty the cache (FLUSHDB, tests/conftest.py `_empty_cache`): so each worker
    also gets its own Redis databases, two below the previous worker's. With the defaults (cache
    15, broker 14) gw0 keeps 15 and 14, gw1 uses 13 and 12, gw2 11 and 10, and so on. Changed in
    the settings and in the environment that the Celery processes of the service tests inherit.
    A run without xdist (one process) keeps the configured databases, unless TEST_REDIS_SLOT
    names a slot as a worker number would: `make test` runs the service tests beside the xdist
    workers, in the slot after theirs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...: set by xdist in each worker
    if not worker and os.environ.get("TEST_REDIS_SLOT", "").isdigit():
        worker = f"gw{os.environ['TEST_REDIS_SLOT']}"
    if not worker.startswith("gw") or worker == "gw0":
        return
    from django.conf import settings
    from django.core.cache import caches

    from config.celery import app

    step = 2 * int(worker.removeprefix("gw"))  # two databases a worker: the cache and the broker

    def moved(url: str, name: str) -> str:
        if not url.startswith(("redis://", "rediss://")):
            return url  # locmem, filesystem: nothing shared between the workers
        match = re.fullmatch(r"(rediss?://[^/?#]*)/(\d+)", url)
        number = int(match[2]) - step if match else -1
        if number < 0:
            raise pytest.UsageError(
                f"{name}={url}: xdist worker {worker} needs a Redis database {step} below the one "
                "given (a URL ending in /<number>). Run fewer workers (-n), or give higher databases."
            )
        return f"{match[1]}/{number}"

    assert "settings" not in caches.__dict__, "the cache was used before each worker got its own Redis database"
    cache = settings.CACHES["default"]
    if isinstance(cache.get("LOCATION"), str):
        cache["LOCATION"] = moved(cache["LOCATION"], "CACHE_URL")
    settings.CELERY_BROKER_URL = app.conf.broker_url = moved(settings.CELERY_BROKER_URL, "CELERY_BROKER_URL")
    for name in ("CACHE_URL", "CELERY_BROKER_URL"):
        if name in os.environ:
            os.environ[name] = moved(os.environ[name], name)


def pytest_addoption(parser):
    # Here rather than in tests/e2e/conftest.py: pytest reads options only from the conftest
    # files it loads first, and `make test` starts from tests/.
    parser.addoption(
        "--screenshots",
        action="store_true",
        default=False,
        help="e2e: save a full-page screenshot of each main page under var/screenshots/ (or set E2E_SCREENSHOTS=1)",
    )
    parser.addoption(
        "--serial-tests",
        choices=("with", "without", "only"),
        default="with",
        help=f"with (default), without or only the tests that must run alone (markers {', '.join(SERIAL_MARKERS)}): "
        "`make test` runs them after the others, in one process",
    )


# Tests that run in a process of their own, not in pytest-xdist's workers: the service tests start
# a Redis, a Celery worker and beats of their own, kill them mid-batch and wait on the clock. They
# spend most of their time waiting, so `make test` runs them beside the workers, in one process.
SERIAL_MARKERS = ("service",)


def pytest_collection_modifyitems(config, items):
    choice = config.getoption("serial_tests")
    if choice == "with":
        return
    kept, dropped = [], []
    for item in items:
        alone = any(item.get_closest_marker(marker) for marker in SERIAL_MARKERS)
        (kept if alone == (choice == "only") else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def ward(db):
    return UnitFactory(name="Haematology Ward")


@pytest.fixture
def other_ward(db):
    return UnitFactory(name="Cardiology Ward")


@pytest.fixture
def patient(ward):
    return PatientFactory(unit=ward)


@pytest.fixture
def foreign_patient(other_ward):
    return PatientFactory(unit=other_ward)


def _member(patient, role, username):
    user = UserFactory(username=username, role=role, unit=patient.unit)
    CareTeamMemberFactory(patient=patient, user=user, role=role)
    return user


@pytest.fixture
def nurse(patient):
    return _member(patient, Role.NURSE, "nurse")


@pytest.fixture
def nurse2(patient):
    return _member(patient, Role.NURSE, "nurse2")


@pytest.fixture
def pharmacist(patient):
    return _member(patient, Role.PHARMACIST, "pharmacist")


@pytest.fixture
def oncologist(patient):
    return _member(patient, Role.ONCOLOGIST, "oncologist")


@pytest.fixture
def case_manager(patient):
    return _member(patient, Role.CASE_MANAGER, "casemanager")


@pytest.fixture
def coordinator(ward):
    return UserFactory(username="coordinator", role=Role.COORDINATOR, unit=ward)


@pytest.fixture
def outsider(other_ward, foreign_patient):
    user = UserFactory(username="outsider", role=Role.NURSE, unit=other_ward)
    CareTeamMemberFactory(patient=foreign_patient, user=user, role=Role.NURSE)
    return user


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role="", unit=None, is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def _regimen_library(db):
    """Tests start from the seeded regimens; the data migration's rows are flushed by TransactionTestCase.

    They are committed in the test database (below), so a look is enough: seeding checks every
    regimen and bag option, some 25 ms a test, where this costs one query."""
    from coordination.handoffs.models import HandoffActionDefault
    from patients.models import BagOption, RegimenVersion

    published = RegimenVersion.objects.filter(status=RegimenVersion.Status.PUBLISHED)
    if not (published.exists() and BagOption.objects.exists() and HandoffActionDefault.objects.exists()):
        _reference_data_seed()


def _reference_data_seed():
    from coordination.handoffs.services import handoff_action_defaults_seed
    from patients.services import regimen_library_seed

    regimen_library_seed()
    handoff_action_defaults_seed()


# The reference data committed in the test database, so that `_regimen_library` finds it there
# instead of writing it again inside every test's transaction (tens of milliseconds a test, some
# 1,500 tests): seeded when the database is ready, and again after each test that ends with
# TransactionTestCase's flush (transactional, live server). `blocker` is set while that is safe.
_committed_reference_data = {"blocker": None}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, django_db_blocker, request):
    """The database is created and migrated as the owner role (tests.database_roles). The suite
    keeps each process's database between runs (`--reuse-db`, pyproject.toml); one that does not
    exist yet (a fresh machine, CI) is copied from a template migrated once for all the processes
    of the run (tests.database_templates)."""
    database_roles.prepare()
    if request.config.getvalue("reuse_db") and not request.config.getvalue("create_db"):
        with django_db_blocker.unblock():
            database_templates.copy_of_migrated_template_if_missing()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    database_roles.connect_as_application()  # the tests run as production's application does
    with django_db_blocker.unblock():
        _reference_data_seed()
    _committed_reference_data["blocker"] = django_db_blocker
    yield
    _committed_reference_data["blocker"] = None  # before pytest-django tears the database down
    database_roles.connect_as_owner()  # which drops the database, when it is not kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:
        blocker = _committed_reference_data["blocker"]
        if blocker is not None and nextitem is not None and _ends_with_a_flush(item):
            with blocker.unblock():
                _reference_data_seed()


def _ends_with_a_flush(item) -> bool:
    """pytest-django runs the test as a TransactionTestCase, which empties every table after it."""
    from pytest_django.fixtures import validate_django_db

    marker = item.get_closest_marker("django_db")
    transaction, reset_sequences, *_ = validate_django_db(marker) if marker else (False, False)
    names = {"transactional_db", "live_server", "django_db_reset_sequences"}
    return bool(transaction or reset_sequences or names & set(getattr(item, "fixturenames", ())))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Production's PBKDF2 costs about half a second a user on this machine; a test that makes
    eight users would spend its time hashing. Sign-in behaviour is the same with any hasher."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_http(settings):
    """The test client and the live server speak plain HTTP; production redirects it to HTTPS
    (tests/test_hardening.py checks that)."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (Redis under `make test`): a session or a rendered
    page kept by an earlier test names ids that this test's database may use again."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def client():
    """pytest-django's client, except that login() passes a request, as django-axes needs."""
    return SignInClient()
