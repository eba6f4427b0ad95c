"""`round_trip.run_under`: a statement under local settings, one transaction, one round trip,
on a real PostgreSQL (the migrated schema, its roles and row-level security)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest

from ingestion.api import round_trip
from ingestion.api.round_trip import positional, run_under
from ingestion.db.engine import libpq_url

AS_API = "SELECT set_config('role', 'bcf_api', true), set_config('app.tenant_id', %(tenant)s, true)"
INSERT_LEAD = (
    "INSERT INTO public.leads (tenant_id, name, email, source) "
    "VALUES (%(tenant_id)s, %(name)s, %(email)s, 'organic') RETURNING id, tenant_id, name"
)
Connection = psycopg.AsyncConnection[Any]


def test_named_placeholders_become_numbered_once_per_name() -> None:
    text, names = positional("SELECT %(a)s, %(b)s, %(a)s, '100%%'")
    assert text == b"SELECT $1, $2, $1, '100%'"
    assert names == ("a", "b")


def _on(url: str, steps: Callable[[Connection, uuid.UUID], Awaitable[None]]) -> None:
    async def run() -> None:
        tenant = uuid.uuid4()
        async with await psycopg.AsyncConnection.connect(
            libpq_url(url), autocommit=True, prepare_threshold=None
        ) as conn:
            await conn.execute(
                "INSERT INTO public.tenants (id, name, slug, type) VALUES (%s, 't', %s, 'trader')",
                (tenant, f"t-{tenant}"),
            )
            await steps(conn, tenant)

    asyncio.run(run())


def _lead(tenant: uuid.UUID, **values: Any) -> dict[str, Any]:
    return {"tenant_id": tenant, "name": "Ana", "email": f"{uuid.uuid4()}@x.io", **values}


def test_the_statement_runs_as_the_role_and_tenant_set_before_it_and_only_then(
    migrated_database_url: str,
) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        row = await run_under(conn, AS_API, {"tenant": str(tenant)}, INSERT_LEAD, _lead(tenant))
        assert row is not None
        assert row["tenant_id"] == tenant
        assert row["name"] == "Ana"
        # Row-level security applied: another tenant's row is refused...
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await run_under(conn, AS_API, {"tenant": str(tenant)}, INSERT_LEAD, _lead(uuid.uuid4()))
        # ...and the settings ended with their transaction.
        after = await (
            await conn.execute("SELECT current_user, current_setting('app.tenant_id', true)")
        ).fetchone()
        assert after is not None
        assert after[0] != "bcf_api"
        assert not after[1]
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE

    _on(migrated_database_url, steps)


def test_a_failed_statement_rolls_back_everything_and_the_connection_goes_on(
    migrated_database_url: str,
) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        setting = {"tenant": str(tenant)}
        both = (
            "WITH new AS (INSERT INTO public.leads (tenant_id, name, email, source) "
            "VALUES (%(tenant_id)s, %(name)s, %(email)s, %(source)s) RETURNING id) "
            "SELECT id FROM new"
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            await run_under(conn, AS_API, setting, both, {**_lead(tenant), "source": "tv"})
        counted = await (await conn.execute("SELECT count(*) FROM public.leads")).fetchone()
        assert counted == (0,)
        assert await run_under(conn, AS_API, setting, both, {**_lead(tenant), "source": "ads"})

    _on(migrated_database_url, steps)


def test_statements_deallocated_behind_its_back_are_prepared_again(
    migrated_database_url: str,
) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        setting = {"tenant": str(tenant)}
        await run_under(conn, AS_API, setting, INSERT_LEAD, _lead(tenant))
        await conn.execute("DEALLOCATE ALL")
        assert await run_under(conn, AS_API, setting, INSERT_LEAD, _lead(tenant))
        counted = await (await conn.execute("SELECT count(*) FROM public.leads")).fetchone()
        assert counted == (2,)

    _on(migrated_database_url, steps)


def test_prepared_statements_per_connection_are_capped(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(round_trip, "PREPARED_PER_CONNECTION", 5)

    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        setting = {"tenant": str(tenant)}
        for n in range(12):  # twelve distinct statements
            statement = INSERT_LEAD.replace("RETURNING id", f"RETURNING id, {n} AS n")
            row = await run_under(conn, AS_API, setting, statement, _lead(tenant))
            assert row is not None
            assert row["n"] == n
        held = await (await conn.execute("SELECT count(*) FROM pg_prepared_statements")).fetchone()
        assert held is not None
        assert held[0] == 5  # the setting and the four most recent

    _on(migrated_database_url, steps)


def test_a_round_trip_cut_short_closes_its_connection(migrated_database_url: str) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        slow = "SELECT pg_sleep(5), %(x)s::int AS x"
        task = asyncio.create_task(run_under(conn, AS_API, {"tenant": str(tenant)}, slow, {"x": 1}))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert conn.closed  # its answer could have been taken for the next request's

    _on(migrated_database_url, steps)
