"""Shared fixtures: a real PostgreSQL and a real Redis for the whole run, a fresh database per test.

By default the run starts its own private servers (the same code as `bcf services`) in a
temporary folder. `BCF_TEST_POSTGRES_URL` (an admin URL, e.g.
postgresql://postgres@127.0.0.1:5432/postgres) and `BCF_TEST_REDIS_URL` reuse running ones;
each test still gets its own database, created from a template migrated once per run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy.engine import make_url

from core.db import migrate
from core.services import LocalPostgres, LocalRedis

SEED_PATH = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_3c5313efa9827ca2.txt"


def _with_database(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _create_database(admin_url: str, name: str, template: str | None = None) -> str:
    clause = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{clause}')
    return _with_database(admin_url, name)


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def temporary_database(admin_url: str, prefix: str, template: str | None = None) -> Iterator[str]:
    """A database of its own (empty, or a clone of `template`) named `<prefix>_<random>`,
    dropped on the way out; yields its URL. For fixtures of any scope."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = _create_database(admin_url, name, template=template)
    try:
        yield url
    finally:
        _drop_database(admin_url, name)


@contextmanager
def private_postgres(folder: Path) -> Iterator[LocalPostgres]:
    """A PostgreSQL server of its own with its cluster in `folder`, stopped on the way out."""
    server = LocalPostgres(folder, os_user=os.environ.get("BCF_SERVICES_OS_USER", "bcf"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    """Outside pytest's basetemp: a second pytest run prunes old basetemps, and a server
    whose data folder vanishes shuts down mid-run."""
    folder = Path(tempfile.mkdtemp(prefix="bcf-test-services-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_admin_url(services_dir: Path) -> Iterator[str]:
    """URL of the `postgres` database on a server this run may create databases on."""
    if url := os.environ.get("BCF_TEST_POSTGRES_URL"):
        yield url
        return
    with private_postgres(services_dir) as server:
        yield server.url("postgres")


@pytest.fixture(scope="session")
def migrated_template(postgres_admin_url: str) -> Iterator[str]:
    """A database migrated to head once per run, cloned by `migrated_database_url`."""
    name = f"bcf_test_template_{uuid.uuid4().hex[:8]}"
    url = _create_database(postgres_admin_url, name)
    migrate.upgrade(url)
    try:
        yield name
    finally:
        _drop_database(postgres_admin_url, name)


@pytest.fixture
def empty_database_url(postgres_admin_url: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, "bcf_test") as url:
        yield url


@pytest.fixture
def migrated_database_url(postgres_admin_url: str, migrated_template: str) -> Iterator[str]:
    """A fresh database of its own for one test, at the head revision."""
    with temporary_database(postgres_admin_url, "bcf_test", template=migrated_template) as url:
        yield url


@pytest.fixture(scope="session")
def redis_server_url(services_dir: Path) -> Iterator[str]:
    if url := os.environ.get("BCF_TEST_REDIS_URL"):
        yield url
        return
    server = LocalRedis(services_dir)
    if server.binary() is None:
        pytest.fail("redis-server is not on PATH and BCF_TEST_REDIS_URL is unset")
    server.start()
    try:
        yield server.url()
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_server_url: str) -> Iterator[redis.Redis]:
    """A Redis client on an emptied database; tests in one run share the server, not the data."""
    client = redis.Redis.from_url(redis_server_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="session")
def seed_path() -> Path:
    if not SEED_PATH.exists():
        pytest.fail(f"the seed design is missing: {SEED_PATH} (shared/ sits beside the checkout)")
    return SEED_PATH
