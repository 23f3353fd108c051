"""Small helpers about the database that every app may use."""

from django.db import DatabaseError


def constraint_of(error: DatabaseError) -> str | None:
    """The name of the constraint that a PostgreSQL integrity error broke, if it says."""
    diagnostics = getattr(error.__cause__, "diag", None)
    return getattr(diagnostics, "constraint_name", None)
