"""Databases the benchmarks create on a PostgreSQL server they are given an admin URL of.

The tests have the same helpers (`tests/conftest.py`); the benchmarks keep their own so
they run from a checkout without the test suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# psycopg and SQLAlchemy are imported where used: the ingest benchmark's loading processes
# import its module, and their start-up is measured (`process_s`).


def database_url(admin_url: str, name: str) -> str:
    """`admin_url` with its database replaced by `name`."""
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """An empty database, or a file-level copy of `template` (which then must have no other
    session for a moment); returns its URL."""
    import psycopg

    clause = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Dropped even with sessions still open on it (a loader or GX may keep one)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(admin_url: str, name: str, template: str | None = None) -> Iterator[str]:
    """`create_database`, dropped on the way out; yields its URL."""
    url = create_database(admin_url, name, template=template)
    try:
        yield url
    finally:
        drop_database(admin_url, name)
