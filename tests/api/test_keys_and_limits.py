"""`bcf api-key create|list|revoke`, and the per-key rate limit."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import httpx
import psycopg
import pytest
import redis
import redis.asyncio as aioredis
from typer.testing import CliRunner

from bcf.cli import app
from tests.api.conftest import World, add_tenant, client, make_app, serving
from write_api.keys import create_key
from write_api.rate_limit import RateLimiter

runner = CliRunner()


def test_keys_are_created_listed_and_revoked_from_the_command_line(
    world: World, api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BCF_DATABASE_URL", world.database_url)
    monkeypatch.setenv("COLUMNS", "200")
    made = runner.invoke(
        app, ["api-key", "create", "--name", "collector", "--tenant", str(world.a.id),
              "--scope", "track", "--scope", "read"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    prefix = key.split("_")[1]
    listed = runner.invoke(app, ["api-key", "list", "--tenant", str(world.a.id)])
    assert prefix in listed.output
    assert key not in listed.output
    assert (
        world.count(
            "SELECT count(*) FROM api.api_keys WHERE prefix = %s AND secret_sha256 <> %s",
            prefix,
            key,
        )
        == 1
    )

    collector = client(api_url, key)
    assert collector.get("/v1/leads").status_code == 200
    assert collector.post("/v1/leads", json={}).status_code == 403  # no write scope
    revoked = runner.invoke(app, ["api-key", "revoke", prefix])
    assert revoked.exit_code == 0, revoked.output
    assert collector.get("/v1/leads").status_code == 401
    collector.close()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--name", "x"], "exactly one of --tenant ID and --platform"),
        (["--name", "x", "--platform", "--scope", "admin"], "scopes must be among"),
        (["--name", "x", "--tenant", str(uuid.uuid4())], "no tenant"),
    ],
)
def test_key_commands_explain_what_is_wrong(
    world: World, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    monkeypatch.setenv("BCF_DATABASE_URL", world.database_url)
    result = runner.invoke(app, ["api-key", "create", *arguments])
    assert result.exit_code == 1
    assert message in result.output
    assert runner.invoke(app, ["api-key", "revoke", "nosuchkey"]).exit_code == 1


@pytest.fixture(scope="module")
def limited_api_url(api_database_url: str, redis_server_url: str) -> Iterator[str]:
    with serving(make_app(api_database_url, redis_server_url, rate_limit_per_minute=5)) as url:
        yield url


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(
    world: World, limited_api_url: str, api_database_url: str
) -> None:
    if time.time() % 60 > 55:  # keep the whole test inside one clock minute
        time.sleep(60 - time.time() % 60 + 0.1)
    limited = client(limited_api_url, world.a.key)
    assert [limited.get("/v1/leads").status_code for _ in range(5)] == [200] * 5
    refused = limited.get("/v1/leads")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["error"]["type"] == "rate_limited"
    # Limits are per key: tenant B is untouched.
    other = client(limited_api_url, world.b.key)
    assert other.get("/v1/leads").status_code == 200
    limited.close()
    other.close()


def test_without_redis_there_is_no_limit_and_no_outage(
    world: World, api_url_without_redis: str
) -> None:
    fallback = client(api_url_without_redis, world.a.key)
    assert {fallback.get("/v1/leads").status_code for _ in range(20)} == {200}
    assert httpx.get(f"{api_url_without_redis}/readyz").status_code == 503
    fallback.close()
    assert add_tenant(world.database_url, "gamma")


def _admitted(limiters: list[RateLimiter], redis_url: str, key_id: uuid.UUID, calls: int) -> int:
    """How many of `calls` requests, spread over `limiters` in turn, one minute admits."""

    async def run() -> int:
        client = aioredis.Redis.from_url(redis_url)

        async def with_redis(
            action: Callable[[aioredis.Redis], Awaitable[int]],
        ) -> tuple[bool, int]:
            return True, await action(client)

        try:
            return sum(
                [
                    await limiters[n % len(limiters)].admit(with_redis, key_id, 7)
                    for n in range(calls)
                ]
            )
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_workers_sharing_a_key_never_admit_more_than_its_limit(redis_server_url: str) -> None:
    workers = [RateLimiter(1_000) for _ in range(3)]
    assert workers[0].block == 10
    admitted = _admitted(workers, redis_server_url, uuid.uuid4(), 1_200)
    # Slots a worker leased and has not spent are not the others': at most 2 x 9 go unused.
    assert 1_000 - 2 * 9 <= admitted <= 1_000


def test_small_limits_are_counted_request_by_request(redis_server_url: str) -> None:
    workers = [RateLimiter(50), RateLimiter(50)]
    assert workers[0].block == 1
    assert _admitted(workers, redis_server_url, uuid.uuid4(), 80) == 50


def test_a_limiter_leases_blocks_instead_of_counting_each_request(
    redis_server_url: str, redis_client: redis.Redis
) -> None:
    key_id = uuid.uuid4()
    assert _admitted([RateLimiter(6_000)], redis_server_url, key_id, 100) == 100
    # Blocks of 60: two round trips for 100 requests, the counter says what was leased.
    assert int(redis_client.get(f"bcf:api:rate:{key_id}:7") or 0) == 120
    assert 0 < redis_client.ttl(f"bcf:api:rate:{key_id}:7") <= 120


def test_a_cached_key_still_refuses_a_wrong_secret_and_ends_when_revoked(
    api_database_url: str,
) -> None:
    tenant = add_tenant(api_database_url, "cached")
    made, key = create_key(api_database_url, "cached", tenant_id=tenant, scopes=("read",))
    other_secret = key[:-1] + ("A" if key[-1] != "A" else "B")
    cached_for = 1.0
    with serving(make_app(api_database_url, None, key_cache_seconds=cached_for)) as url:
        right, wrong = client(url, key), client(url, other_secret)
        assert right.get("/v1/leads").status_code == 200  # read, checked and cached
        assert wrong.get("/v1/leads").status_code == 401  # same prefix, from the cache
        assert right.get("/v1/leads").status_code == 200
        with psycopg.connect(api_database_url) as conn:
            conn.execute(
                "UPDATE api.api_keys SET revoked_at = now() WHERE prefix = %s", (made.prefix,)
            )
        time.sleep(cached_for + 0.1)
        assert right.get("/v1/leads").status_code == 401
        right.close()
        wrong.close()
