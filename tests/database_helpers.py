"""What the audit tests need of PostgreSQL itself: trigger names, and the owner's hand."""

from django.db import connection

from .database_roles import owner_connection


def trigger_names(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [table])
        return [name for (name,) in cursor.fetchall()]


def as_database_owner(*statements: str) -> None:
    """What an intruder with the owner's rights could do, committed: the triggers switched off
    around the statements, as only the owner may."""
    with owner_connection() as owner, owner.transaction():
        for table in ("accounts_auditevent", "accounts_auditseal", "accounts_auditsealrun"):
            owner.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        for statement in statements:
            owner.execute(statement)
        for table in ("accounts_auditevent", "accounts_auditseal", "accounts_auditsealrun"):
            owner.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
