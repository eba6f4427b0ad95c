"""The write API served by uvicorn on a free port, on a database migrated for the module.

Tests share one server and database per module; each builds its own tenants, users and
keys (`World`), so they never see each other's rows.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI

from core.services import free_port
from core.settings import Settings
from tests.conftest import temporary_database
from write_api.app import create_app
from write_api.config import ApiSettings
from write_api.keys import create_key

SECRET_KEY = "test-secret-key-for-the-write-api"


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run `app` with uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def make_app(database_url: str, redis_url: str | None, **api: Any) -> FastAPI:
    settings = Settings(
        env="test", secret_key=SECRET_KEY, pseudonymisation_key="test-pseudonymisation-key"
    )
    return create_app(
        settings,
        ApiSettings(**{"key_cache_seconds": 0, **api}),
        database_url=database_url,
        redis_url=redis_url or "",
    )


@pytest.fixture(scope="module")
def api_database_url(postgres_admin_url: str, migrated_template: str) -> Iterator[str]:
    with temporary_database(postgres_admin_url, "bcf_test_api", template=migrated_template) as url:
        yield url


@pytest.fixture(scope="module")
def api_url(api_database_url: str, redis_server_url: str) -> Iterator[str]:
    with serving(make_app(api_database_url, redis_server_url)) as url:
        yield url


@dataclass
class Tenant:
    id: uuid.UUID
    key: str
    client: httpx.Client


@dataclass
class World:
    """Two tenants (their keys' clients), a platform client and shared reference rows."""

    a: Tenant
    b: Tenant
    platform: httpx.Client
    user_id: uuid.UUID
    department_id: uuid.UUID
    database_url: str

    def row(self, table: str, object_id: Any) -> dict[str, Any] | None:
        with psycopg.connect(self.database_url) as conn:
            cursor = conn.cursor(row_factory=psycopg.rows.dict_row)
            return cursor.execute(
                f"SELECT * FROM public.{table} WHERE id = %s", (object_id,)
            ).fetchone()

    def count(self, statement: str, *params: Any) -> int:
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute(statement, params).fetchone()
        assert row is not None
        return int(row[0])


def add_tenant(database_url: str, name: str) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO public.tenants (id, name, slug, type) VALUES (%s, %s, %s, 'empresa')",
            (tenant_id, name, f"{name}-{tenant_id.hex[:8]}"),
        )
    return tenant_id


def client(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture
def world(api_url: str, api_database_url: str) -> Iterator[World]:
    url = api_database_url
    scopes = ("read", "write", "track")
    tenants = []
    for name in ("alpha", "beta"):
        tenant_id = add_tenant(url, name)
        _, key = create_key(url, f"{name} platform sync", tenant_id=tenant_id, scopes=scopes)
        tenants.append(Tenant(tenant_id, key, client(api_url, key)))
    _, platform_key = create_key(url, "platform", tenant_id=None, scopes=scopes)
    user_id, department_id = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO public.users (id, email, name) VALUES (%s, %s, 'Test User')",
            (user_id, f"user-{user_id.hex[:10]}@example.com"),
        )
        conn.execute(
            "INSERT INTO public.departments (id, name, slug) VALUES (%s, 'Support', %s)",
            (department_id, f"support-{department_id.hex[:8]}"),
        )
    platform = client(api_url, platform_key)
    try:
        yield World(tenants[0], tenants[1], platform, user_id, department_id, url)
    finally:
        for http in (tenants[0].client, tenants[1].client, platform):
            http.close()


@pytest.fixture(scope="module")
def api_url_without_redis(api_database_url: str) -> Iterator[str]:
    """The API with its Redis unreachable (a port nothing listens on): the fallbacks."""
    with serving(make_app(api_database_url, f"redis://127.0.0.1:{free_port()}/0")) as url:
        yield url
