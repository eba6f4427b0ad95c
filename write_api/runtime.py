"""What every request shares: the database pool, Redis (while it answers), the key cache.

Each request runs on a pooled connection as role `bcf_api` with `app.tenant_id` set to the
key's tenant, both local to its transaction, so row-level security confines it even if an
application check were missing: in a transaction of its own, or for a one-statement write in
the transaction of the writes committed with it (`group_commit`), each under its own
settings. The connection's login role must be allowed to `SET ROLE bcf_api` (and
`bcf_pipeline`, for tracking events loaded while Redis is down).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import psycopg
import redis.asyncio as aioredis
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from redis.exceptions import RedisError

from core.db.access import API_ROLE
from core.db.engine import libpq_url
from core.settings import Settings
from write_api.config import ApiSettings
from write_api.group_commit import GroupCommit
from write_api.rate_limit import RateLimiter
from write_api.redis_line import RedisLine

log = logging.getLogger(__name__)
T = TypeVar("T")
C = TypeVar("C")
Statement = str | sql.SQL | sql.Composed

# `SET LOCAL ROLE` and `SET LOCAL app.tenant_id` as one statement that takes a parameter.
ACT_AS_API: Final = (
    f"SELECT set_config('role', '{API_ROLE}', true), set_config('app.tenant_id', %(tenant)s, true)"
)


@dataclass(frozen=True)
class Principal:
    """Who calls: one API key, of one tenant or of the platform (tenant_id None)."""

    key_id: uuid.UUID
    prefix: str
    name: str
    tenant_id: uuid.UUID | None
    scopes: frozenset[str]

    @property
    def is_platform(self) -> bool:
        return self.tenant_id is None


def tenant_setting(principal: Principal | None) -> str:
    """`app.tenant_id` for the principal: its tenant, or empty (no tenant's rows)."""
    return str(principal.tenant_id) if principal and principal.tenant_id else ""


@dataclass
class CachedKey:
    """An API key's row as last read, kept `key_cache_seconds` by its prefix."""

    expires: float  # time.monotonic()
    stored_hash: str
    principal: Principal | None  # None: no such key, or revoked
    verified: bytes = b""  # the last key presented that matched `stored_hash`


@dataclass
class Runtime:
    settings: Settings
    api: ApiSettings
    database_url: str
    redis_url: str | None
    pool: AsyncConnectionPool = field(init=False)
    redis: aioredis.Redis | None = field(init=False, default=None)
    # The idempotency keys' commands, two per keyed write, on a connection of their own.
    key_records: RedisLine | None = field(init=False, default=None)
    rate_limiter: RateLimiter = field(init=False)
    writes: GroupCommit = field(init=False)
    key_cache: dict[str, CachedKey] = field(default_factory=dict)
    _redis_down_until: float = 0.0

    def __post_init__(self) -> None:
        self.rate_limiter = RateLimiter(self.api.rate_limit_per_minute)
        self.pool = AsyncConnectionPool(
            libpq_url(self.database_url),
            min_size=1,
            max_size=self.api.pool_size,
            # Transactions are explicit (BEGIN ... COMMIT in one round trip with the role).
            # Statements are prepared by `round_trip` only: psycopg's own preparing would
            # deallocate them all (DEALLOCATE ALL) after any rollback.
            kwargs={"autocommit": True, "prepare_threshold": None},
            open=False,
        )
        self.writes = GroupCommit(
            self.pool,
            ACT_AS_API,
            lanes=self.api.write_lanes,
            max_batch=self.api.write_batch_max,
        )
        if self.redis_url:
            self.redis = aioredis.Redis.from_url(
                self.redis_url, socket_connect_timeout=0.5, socket_timeout=2.0
            )
            self.key_records = RedisLine(self.redis_url, connect_timeout=0.5, command_timeout=2.0)

    async def open(self) -> None:
        await self.pool.open(wait=True, timeout=30)

    async def close(self) -> None:
        await self.pool.close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.key_records is not None:
            await self.key_records.close()

    async def with_redis(
        self, action: Callable[[aioredis.Redis], Awaitable[T]]
    ) -> tuple[bool, T | None]:
        """(True, result); (False, None) when Redis is unset or failing (then skipped a while)."""
        return await self._guarded(self.redis, action)

    async def with_key_records(
        self, action: Callable[[RedisLine], Awaitable[T]]
    ) -> tuple[bool, T | None]:
        """`with_redis` for the idempotency keys' records."""
        return await self._guarded(self.key_records, action)

    async def _guarded(
        self, client: C | None, action: Callable[[C], Awaitable[T]]
    ) -> tuple[bool, T | None]:
        if client is None or time.monotonic() < self._redis_down_until:
            return False, None
        try:
            return True, await action(client)
        except (RedisError, OSError) as error:
            self._redis_down_until = time.monotonic() + self.api.redis_retry_seconds
            log.warning("Redis unavailable, using the database fallback: %s", error)
            return False, None

    async def one_statement(
        self,
        principal: Principal,
        statement: str,
        params: Mapping[str, Any],
        *,
        leading: tuple[tuple[str, Mapping[str, Any]], ...] = (),
        exclusive: Hashable | None = None,
    ) -> dict[str, Any] | None:
        """`statement`'s first row, committed, as `bcf_api` for the principal's tenant: in
        one round trip, with the other one-statement writes that wait with it
        (`group_commit`; `leading` and `exclusive` as there)."""
        return await self.writes.run(
            {"tenant": tenant_setting(principal)},
            statement,
            params,
            leading=leading,
            exclusive=exclusive,
        )

    @asynccontextmanager
    async def transaction(
        self, principal: Principal | None
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """One transaction as `bcf_api`, confined to the principal's tenant (none: no rows
        of any tenant-scoped table are visible)."""
        tenant = tenant_setting(principal)
        async with self.pool.connection() as conn:
            # One round trip: the tenant is a UUID we read from our own table, never input.
            await conn.execute(
                f"BEGIN; SET LOCAL ROLE {API_ROLE}; SET LOCAL app.tenant_id = '{tenant}'"
            )
            try:
                yield conn
            except BaseException:
                if not conn.closed:
                    await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")


async def fetch_one(
    conn: psycopg.AsyncConnection[Any], statement: Statement, params: Any = None
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(statement, params)
        return await cursor.fetchone()


async def fetch_all(
    conn: psycopg.AsyncConnection[Any], statement: Statement, params: Any = None
) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(statement, params)
        return await cursor.fetchall()
