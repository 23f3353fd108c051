"""Worlds built once for a module instead of once for each test.

Some worlds cost seconds to build: the authorization matrix's cast and records, the demo
hospital of `seed_demo`. A module-scoped fixture builds one inside a transaction that stays open
until the module ends and is then rolled back (`layer`); each test runs, as any pytest-django `db`
test does, inside a savepoint of that transaction, rolled back when the test ends. What a test
changes is gone before the next one starts, and the world is gone after the module.
"""

from contextlib import contextmanager

from django.db import connection, transaction
from django.test import override_settings

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # as tests/conftest.py sets for each test


@contextmanager
def layer(django_db_blocker):
    """A transaction (a savepoint when nested in another layer's) open until the `with` ends, then
    rolled back. The tests' own savepoints (pytest-django's `db`) nest inside it."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def build(django_db_blocker, make, *args, **settings):
    """`make(*args)` with database access, and the cheap password hasher that tests/conftest.py
    sets for each test (module fixtures run before it), under any further `settings`."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER, **settings):
        made = make(*args)
        # The world's deferred foreign-key checks, made now, as a commit would: left pending, they
        # ran again at the end of every test (Django's TestCase checks constraints before its
        # rollback, and the rollback of the test's savepoint leaves them pending again), some
        # 0.3 s a test over the demo hospital.
        connection.check_constraints()
        return made
