"""`round_trip.run_together` and `group_commit.GroupCommit`: statements under local settings,
one transaction and one round trip per batch, on a real PostgreSQL (the migrated schema, its
roles and row-level security)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import psycopg_pool
import pytest
from psycopg.types.json import Jsonb

from core.db.engine import libpq_url
from write_api import round_trip
from write_api.group_commit import GroupCommit
from write_api.keys import create_key
from write_api.resources import BY_PATH
from write_api.round_trip import NOT_RUN, Work, positional, run_together
from write_api.statements import KEYED_CLAIM, keyed_insert_statement, replay_statement

AS_API = "SELECT set_config('role', 'bcf_api', true), set_config('app.tenant_id', %(tenant)s, true)"
INSERT_LEAD = (
    "INSERT INTO public.leads (tenant_id, name, email, source) "
    "VALUES (%(tenant_id)s, %(name)s, %(email)s, 'organic') RETURNING id, tenant_id, name"
)
Connection = psycopg.AsyncConnection[Any]


def test_named_placeholders_become_numbered_once_per_name() -> None:
    text, names, name = positional("SELECT %(a)s, %(b)s, %(a)s, '100%%'")
    assert text == b"SELECT $1, $2, $1, '100%'"
    assert names == ("a", "b")
    assert name.startswith(b"bcf_")
    assert positional("SELECT %(b)s")[2] != name


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


async def run_under(
    conn: Connection, tenant: uuid.UUID, statement: str, params: dict[str, Any]
) -> dict[str, Any] | None:
    """One work alone: its row, or its error raised."""
    (outcome,) = await run_together(
        conn, AS_API, [Work({"tenant": str(tenant)}, statement, params)]
    )
    if isinstance(outcome, Exception):
        raise outcome
    assert outcome is not NOT_RUN
    return outcome  # type: ignore[return-value]


@asynccontextmanager
async def _one_lane(url: str, *, connections: int) -> AsyncIterator[GroupCommit]:
    """Group commit through one lane (batches of up to 8) on a pool of its own."""
    async with psycopg_pool.AsyncConnectionPool(
        libpq_url(url),
        min_size=connections,
        max_size=connections,
        kwargs={"autocommit": True, "prepare_threshold": None},
    ) as pool:
        yield GroupCommit(pool, AS_API, lanes=1, max_batch=8)


async def _count(conn: Connection, statement: str) -> int:
    row = await (await conn.execute(statement)).fetchone()
    assert row is not None
    return int(row[0])


def test_the_statement_runs_as_the_role_and_tenant_set_before_it_and_only_then(
    migrated_database_url: str,
) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        row = await run_under(conn, tenant, INSERT_LEAD, _lead(tenant))
        assert row is not None
        assert row["tenant_id"] == tenant
        assert row["name"] == "Ana"
        # Row-level security applied: another tenant's row is refused...
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await run_under(conn, tenant, INSERT_LEAD, _lead(uuid.uuid4()))
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
        both = (
            "WITH new AS (INSERT INTO public.leads (tenant_id, name, email, source) "
            "VALUES (%(tenant_id)s, %(name)s, %(email)s, %(source)s) RETURNING id) "
            "SELECT id FROM new"
        )
        with pytest.raises(psycopg.errors.CheckViolation):
            await run_under(conn, tenant, both, {**_lead(tenant), "source": "tv"})
        counted = await (await conn.execute("SELECT count(*) FROM public.leads")).fetchone()
        assert counted == (0,)
        assert await run_under(conn, tenant, both, {**_lead(tenant), "source": "ads"})

    _on(migrated_database_url, steps)


def test_statements_deallocated_behind_its_back_are_prepared_again(
    migrated_database_url: str,
) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        await run_under(conn, tenant, INSERT_LEAD, _lead(tenant))
        await conn.execute("DEALLOCATE ALL")
        # Nothing ran, and everything is prepared again on the next round trip.
        (outcome,) = await run_together(
            conn, AS_API, [Work({"tenant": str(tenant)}, INSERT_LEAD, _lead(tenant))]
        )
        assert outcome is NOT_RUN
        assert await run_under(conn, tenant, INSERT_LEAD, _lead(tenant))
        counted = await (await conn.execute("SELECT count(*) FROM public.leads")).fetchone()
        assert counted == (2,)

    _on(migrated_database_url, steps)


def test_prepared_statements_per_connection_are_capped(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(round_trip, "PREPARED_PER_CONNECTION", 5)

    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        for n in range(12):  # twelve distinct statements
            statement = INSERT_LEAD.replace("RETURNING id", f"RETURNING id, {n} AS n")
            row = await run_under(conn, tenant, statement, _lead(tenant))
            assert row is not None
            assert row["n"] == n
        held = await (await conn.execute("SELECT count(*) FROM pg_prepared_statements")).fetchone()
        assert held is not None
        assert held[0] == 5  # the setting and the four most recent

    _on(migrated_database_url, steps)


def test_a_round_trip_cut_short_closes_its_connection(migrated_database_url: str) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        slow = "SELECT pg_sleep(5), %(x)s::int AS x"
        task = asyncio.create_task(run_under(conn, tenant, slow, {"x": 1}))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert conn.closed  # its answer could have been taken for the next request's

    _on(migrated_database_url, steps)


def test_each_work_of_a_batch_runs_as_its_own_tenant(migrated_database_url: str) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        other = uuid.uuid4()
        await conn.execute(
            "INSERT INTO public.tenants (id, name, slug, type) VALUES (%s, 'o', %s, 'trader')",
            (other, f"o-{other}"),
        )
        order = [tenant, tenant, other, tenant]
        works = [Work({"tenant": str(t)}, INSERT_LEAD, _lead(t)) for t in order]
        outcomes = await run_together(conn, AS_API, works)
        assert [o["tenant_id"] for o in outcomes] == order  # type: ignore[index]
        # A work with another tenant's row is refused under its own setting, not the last.
        works[2] = Work({"tenant": str(other)}, INSERT_LEAD, _lead(tenant))
        outcomes = await run_together(conn, AS_API, works)
        assert isinstance(outcomes[2], psycopg.errors.InsufficientPrivilege)
        assert [outcomes[n] for n in (0, 1, 3)] == [NOT_RUN] * 3
        assert await _count(conn, "SELECT count(*) FROM public.leads") == 4

    _on(migrated_database_url, steps)


def test_group_commit_commits_every_write_once_and_fails_only_the_failing_one(
    migrated_database_url: str,
) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        taken = f"{uuid.uuid4()}@x.io"
        unique = "INSERT INTO public.users (email, name) VALUES (%(email)s, 'U') RETURNING email"
        async with _one_lane(migrated_database_url, connections=2) as writes:
            setting = {"tenant": str(tenant)}
            emails = [f"{n}-{uuid.uuid4()}@x.io" for n in range(40)]
            emails[25] = emails[5] = taken  # the second one of these fails
            outcomes = await asyncio.gather(
                *(writes.run(setting, unique, {"email": e}) for e in emails),
                return_exceptions=True,
            )
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(failed) == 1
        assert isinstance(failed[0], psycopg.errors.UniqueViolation)
        assert (
            await _count(conn, "SELECT count(*) FROM public.users WHERE email LIKE '%x.io'") == 39
        )

    _on(migrated_database_url, steps)


def test_a_write_whose_request_went_away_leaves_the_others_alone(
    migrated_database_url: str,
) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        async with _one_lane(migrated_database_url, connections=1) as writes:
            setting = {"tenant": str(tenant)}
            slow = writes.run(setting, "SELECT pg_sleep(0.3) AS slept", {})
            first = asyncio.create_task(slow)
            await asyncio.sleep(0.05)  # the lane is busy: these wait for the next batch
            waiting = [
                asyncio.create_task(writes.run(setting, INSERT_LEAD, _lead(tenant)))
                for _ in range(3)
            ]
            await asyncio.sleep(0.05)
            waiting[1].cancel()
            rows = await asyncio.gather(first, waiting[0], waiting[2])
        assert all(row is not None for row in rows)
        assert await _count(conn, "SELECT count(*) FROM public.leads") == 2

    _on(migrated_database_url, steps)


def test_writes_one_after_another_each_find_a_lane(migrated_database_url: str) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        async with _one_lane(migrated_database_url, connections=1) as writes:

            async def one_after_another() -> None:
                for _ in range(20):  # each queued as the lane that ran the one before ends
                    await writes.run({"tenant": str(tenant)}, INSERT_LEAD, _lead(tenant))

            await asyncio.wait_for(one_after_another(), timeout=10)
        assert await _count(conn, "SELECT count(*) FROM public.leads") == 20

    _on(migrated_database_url, steps)


def test_a_statement_evicted_earlier_in_the_same_round_trip_is_used_again(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(round_trip, "PREPARED_PER_CONNECTION", 2)

    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        a, b, c = (INSERT_LEAD.replace("RETURNING id", f"RETURNING id, '{n}' AS n") for n in "abc")
        setting = {"tenant": str(tenant)}
        works = [Work(setting, statement, _lead(tenant)) for statement in (a, b, c, a)]
        outcomes = await run_together(conn, AS_API, works)
        assert [o["n"] for o in outcomes] == ["a", "b", "c", "a"]  # type: ignore[index]
        # And the next round trip finds every statement it was told is prepared.
        assert await run_under(conn, tenant, b, _lead(tenant))
        assert await run_under(conn, tenant, a, _lead(tenant))

    _on(migrated_database_url, steps)


def test_a_lane_whose_connection_is_lost_goes_on_with_another(migrated_database_url: str) -> None:
    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        async with _one_lane(migrated_database_url, connections=1) as writes:
            setting = {"tenant": str(tenant)}
            marker = f"lost-{uuid.uuid4()}"
            doomed = asyncio.create_task(
                writes.run(setting, f"SELECT pg_sleep(5), '{marker}' AS marker", {})
            )
            await asyncio.sleep(0.2)  # the lane is busy: these wait for its next batch
            waiting = [
                asyncio.create_task(writes.run(setting, INSERT_LEAD, _lead(tenant)))
                for _ in range(3)
            ]
            await asyncio.sleep(0.05)
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE %s AND pid <> pg_backend_pid()",
                (f"%{marker}%",),
            )
            with pytest.raises(psycopg.OperationalError):
                await asyncio.wait_for(doomed, timeout=10)
            rows = await asyncio.wait_for(asyncio.gather(*waiting), timeout=10)
        assert all(row is not None for row in rows)
        assert await _count(conn, "SELECT count(*) FROM public.leads") == 3

    _on(migrated_database_url, steps)


def test_a_keyed_create_commits_with_its_key_record_in_a_shared_batch_or_not_at_all(
    migrated_database_url: str,
) -> None:
    """Keyed creates in one batch with a failing neighbour: each create and its key's record
    (claim and answer) stand together, or roll back together when the create or the claim
    fails; a second claim of one key waits for the next batch and fails there alone."""
    leads = BY_PATH["leads"]

    async def steps(conn: Connection, tenant: uuid.UUID) -> None:
        key_row, _ = create_key(migrated_database_url, "k", tenant_id=tenant, scopes=("write",))
        setting = {"tenant": str(tenant)}
        audit = {"_tenant": tenant, "_ip": None, "_ua": None, "_meta": Jsonb({})}

        def keyed(key: str, **values: Any) -> Awaitable[dict[str, Any] | None]:
            lead = _lead(tenant, **{"source": "organic", **values})
            claim = {"key_id": key_row.id, "key": key, "fp": "0" * 64, "ttl": 60}
            return writes.run(
                setting,
                keyed_insert_statement(leads, lead),
                {**lead, **audit, "_key_id": key_row.id, "_key": key},
                leading=((KEYED_CLAIM, claim),),
                exclusive=key,
            )

        async with _one_lane(migrated_database_url, connections=2) as writes:
            assert await keyed("recorded") is not None
            busy = asyncio.create_task(writes.run(setting, "SELECT pg_sleep(0.3) AS s", {}))
            await asyncio.sleep(0.05)  # the lane is busy: all of these share its next batch
            names = ["a", "neighbour", "b", "own-failure", "recorded", "a-again"]
            tasks = [
                keyed("a"),
                writes.run(setting, INSERT_LEAD.replace("'organic'", "'tv'"), _lead(tenant)),
                keyed("b"),
                keyed("own-failure", source="tv"),
                keyed("recorded"),
                keyed("a", email="again@x.io"),
            ]
            outcomes = dict(
                zip(names, await asyncio.gather(*tasks, return_exceptions=True), strict=True)
            )
            await busy

        assert isinstance(outcomes["neighbour"], psycopg.errors.CheckViolation)
        assert isinstance(outcomes["own-failure"], psycopg.errors.CheckViolation)
        for name in ("recorded", "a-again"):  # the key has a record: the create did not run
            error = outcomes[name]
            assert isinstance(error, psycopg.errors.UniqueViolation)
            assert error.diag.constraint_name == "pk_idempotency_keys"
        assert (
            await _count(conn, "SELECT count(*) FROM public.leads WHERE email = 'again@x.io'") == 0
        )
        for name in ("a", "b"):
            row = outcomes[name]
            assert isinstance(row, dict)
            cursor = conn.cursor(row_factory=psycopg.rows.dict_row)
            await cursor.execute(replay_statement(leads), {"_key_id": key_row.id, "_key": name})
            assert await cursor.fetchall() == [row]  # the record answers as the create did
            assert (
                await _count(conn, f"SELECT count(*) FROM public.leads WHERE id = '{row['id']}'")
                == 1
            )
            assert (
                await _count(
                    conn,
                    f"SELECT count(*) FROM public.audit_logs WHERE resource_id = '{row['id']}'",
                )
                == 1
            )
        recorded = await _count(
            conn, "SELECT count(*) FROM api.idempotency_keys WHERE response_status = 201"
        )
        assert recorded == 3  # "recorded", "a", "b"; nothing of "own-failure"
        assert await _count(conn, "SELECT count(*) FROM public.leads") == 3

    _on(migrated_database_url, steps)
