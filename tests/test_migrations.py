"""Every model change has its migration: a change of choices or fields without one would leave
production's schema behind the code (one slipped through once: the condition facts' choices)."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_models_and_their_migrations_agree():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=StringIO())
    except SystemExit:
        pytest.fail(f"Models changed without a migration:\n{out.getvalue()}")
