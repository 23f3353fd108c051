"""The cast: one unit with a patient whose care team holds every role, and an outsider.

Signing in: `client.force_login(user)` is the password step alone. Staff and coordinators
must also pass the second step, so tests that sign them in use
`tests.accounts.helpers.verified_login(client, user)`, which gives the user an authenticator
and a session that has passed it.
"""

import pytest

from accounts.models import Role

from .accounts.helpers import SignInClient
from .factories import CareTeamMemberFactory, PatientFactory, UnitFactory, UserFactory


def pytest_addoption(parser):
    # Here rather than in tests/e2e/conftest.py: pytest reads options only from the conftest
    # files it loads first, and `make test` starts from tests/.
    parser.addoption(
        "--screenshots",
        action="store_true",
        default=False,
        help="e2e: save a full-page screenshot of each main page under var/screenshots/ (or set E2E_SCREENSHOTS=1)",
    )


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
    """Tests start from the seeded regimens; the data migration's rows are flushed by TransactionTestCase."""
    from patients.services import regimen_library_seed

    regimen_library_seed()


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
