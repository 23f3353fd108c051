"""The benchmarks' own databases: created beside the one in DATABASE_URL, never that one."""

import os
from urllib.parse import urlsplit, urlunsplit


def bench_url(database: str, source: str | None = None) -> str:
    """DATABASE_URL (or `source`) with its database name replaced by `database`."""
    source = os.environ.get("DATABASE_URL", "") if source is None else source
    parts = urlsplit(source)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"DATABASE_URL must name a PostgreSQL server, not {parts.scheme or 'nothing'}://")
    if parts.path.strip("/") == database:
        raise SystemExit(f"DATABASE_URL already names {database}: point it at another database of that server")
    return urlunsplit(parts._replace(path=f"/{database}"))


def _maintenance(url: str):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )


def recreate(url: str, *, drop_only: bool = False) -> None:
    """Drop the database that `url` names (if it exists) and create it again, empty."""
    database = urlsplit(url).path.strip("/")
    with _maintenance(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{database}"')


def exists(url: str) -> bool:
    database = urlsplit(url).path.strip("/")
    with _maintenance(url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() is not None
