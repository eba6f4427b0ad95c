"""Idempotency-Key with Stripe's semantics, kept in Redis or, with Redis down, in the database."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import redis

from tests.api.conftest import World, client, make_app, serving
from tests.api.samples import body_for
from write_api.resources import RESOURCES, Resource

CREATABLE = [resource for resource in RESOURCES if resource.can_create]


def _leads_named(world: World, email: str) -> int:
    return world.count("SELECT count(*) FROM public.leads WHERE email = %s", email)


@pytest.fixture(params=["redis", "database"])
def http(request: pytest.FixtureRequest, world: World) -> Iterator[httpx.Client]:
    """Tenant A's client on the API with Redis, or on the API whose Redis is down."""
    if request.param == "redis":
        yield world.a.client
        return
    with client(request.getfixturevalue("api_url_without_redis"), world.a.key) as fallback:
        yield fallback


def test_a_replay_returns_the_first_response(world: World, http: httpx.Client) -> None:
    body = body_for("leads", world, http)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = http.post("/v1/leads", json=body, headers=headers)
    again = http.post("/v1/leads", json=dict(reversed(body.items())), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _leads_named(world, body["email"]) == 1


def test_the_same_key_with_another_body_is_a_422(world: World, http: httpx.Client) -> None:
    body = body_for("leads", world, http)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    assert http.post("/v1/leads", json=body, headers=headers).status_code == 201
    other = {**body, "name": "Someone else"}
    response = http.post("/v1/leads", json=other, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "idempotency_key_reused"
    assert world.count("SELECT count(*) FROM public.leads WHERE name = 'Someone else'") == 0


def test_a_refused_request_keeps_nothing(world: World, http: httpx.Client) -> None:
    body = body_for("leads", world, http)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    invalid = http.post("/v1/leads", json={**body, "source": "tv"}, headers=headers)
    assert invalid.status_code == 422
    assert http.post("/v1/leads", json=body, headers=headers).status_code == 201
    # A database refusal (a taken value) is not kept either.
    user = body_for("users", world, world.platform)
    assert world.platform.post("/v1/users", json=user).status_code == 201
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert world.platform.post("/v1/users", json=user, headers=key).status_code == 409
    fresh = {**user, "email": f"other-{uuid.uuid4().hex[:8]}@example.com"}
    assert world.platform.post("/v1/users", json=fresh, headers=key).status_code == 201


def test_fifty_concurrent_requests_with_one_key_create_one_row(
    world: World, http: httpx.Client
) -> None:
    body = body_for("leads", world, http)
    headers = {**http.headers, "Idempotency-Key": str(uuid.uuid4())}

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=str(http.base_url), timeout=60) as pool:
            return await asyncio.gather(
                *(pool.post("/v1/leads", json=body, headers=headers) for _ in range(50))
            )

    responses = asyncio.run(fire())
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert _leads_named(world, body["email"]) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 49


def test_duplicates_racing_in_the_database_leave_one_row_and_one_audit_row(
    world: World, api_url_without_redis: str
) -> None:
    """Without Redis in front, every duplicate's claim waits on the first request's record,
    then finds the key taken and replays: no second lead, no audit row of its own."""
    body = body_for("leads", world, world.a.client)
    headers = {"Authorization": f"Bearer {world.a.key}", "Idempotency-Key": str(uuid.uuid4())}

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=api_url_without_redis, timeout=60) as pool:
            return await asyncio.gather(
                *(pool.post("/v1/leads", json=body, headers=headers) for _ in range(20))
            )

    responses = asyncio.run(fire())
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert _leads_named(world, body["email"]) == 1
    audited = world.count(
        "SELECT count(*) FROM public.audit_logs WHERE resource = 'leads' "
        "AND new_values->>'email' = %s",
        body["email"],
    )
    assert audited == 1


def _slot(key: str) -> str:
    return f"bcf:api:idem:*:{hashlib.sha256(key.encode()).hexdigest()}"


def test_a_key_used_while_redis_was_down_is_honoured_once_it_is_back(
    world: World, api_url_without_redis: str
) -> None:
    body = body_for("leads", world, world.a.client)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    with client(api_url_without_redis, world.a.key) as fallback:
        first = fallback.post("/v1/leads", json=body, headers=headers)
    assert first.status_code == 201

    again = world.a.client.post("/v1/leads", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = world.a.client.post("/v1/leads", json={**body, "name": "Other"}, headers=headers)
    assert other.status_code == 422
    assert _leads_named(world, body["email"]) == 1


def test_a_key_used_with_redis_is_honoured_while_it_is_down(
    world: World, api_url_without_redis: str
) -> None:
    body = body_for("leads", world, world.a.client)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = world.a.client.post("/v1/leads", json=body, headers=headers)
    assert first.status_code == 201

    with client(api_url_without_redis, world.a.key) as fallback:
        again = fallback.post("/v1/leads", json=body, headers=headers)
        other = fallback.post("/v1/leads", json={**body, "name": "Other"}, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert other.status_code == 422
    assert _leads_named(world, body["email"]) == 1


def test_a_write_whose_record_redis_lost_is_still_replayed(
    world: World, redis_server_url: str
) -> None:
    """As after a Redis restart without persistence, or a crash between the commit and
    the record reaching Redis: the database's record answers."""
    body = body_for("leads", world, world.a.client)
    key = str(uuid.uuid4())
    first = world.a.client.post("/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    store = redis.Redis.from_url(redis_server_url)
    for name in store.scan_iter(_slot(key)):
        store.delete(name)

    again = world.a.client.post("/v1/leads", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert _leads_named(world, body["email"]) == 1
    # The replayed record is back in Redis for the rest of its day.
    ttls = [store.ttl(name) for name in store.scan_iter(_slot(key))]
    store.close()
    assert len(ttls) == 1
    assert 86_000 < ttls[0] <= 86_400


def test_keys_expire_after_a_day(
    world: World, redis_server_url: str, api_url_without_redis: str
) -> None:
    body = body_for("leads", world, world.a.client)
    key = str(uuid.uuid4())
    assert (
        world.a.client.post("/v1/leads", json=body, headers={"Idempotency-Key": key}).status_code
        == 201
    )
    store = redis.Redis.from_url(redis_server_url)
    # Only this key's record: other tests' keys in the same Redis are older.
    ttls = [store.ttl(name) for name in store.scan_iter(_slot(key))]
    store.close()
    assert len(ttls) == 1
    assert 86_000 < ttls[0] <= 86_400
    with psycopg.connect(world.database_url) as conn:
        left = conn.execute(
            "SELECT extract(epoch FROM expires_at - created_at) FROM api.idempotency_keys "
            "WHERE idempotency_key = %s",
            (key,),
        ).fetchone()
        assert left is not None
        assert left[0] == 86_400
        conn.execute(
            "UPDATE api.idempotency_keys SET expires_at = now() - interval '1 second' "
            "WHERE idempotency_key = %s",
            (key,),
        )
    # Expired (and Redis down, so its copy does not answer): the key runs as a new request.
    with client(api_url_without_redis, world.a.key) as fallback:
        again = fallback.post(
            "/v1/leads",
            json=body | {"email": "later@example.com"},
            headers={"Idempotency-Key": key},
        )
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert _leads_named(world, "later@example.com") == 1


def test_a_starting_worker_purges_expired_records(
    world: World, http: httpx.Client, api_database_url: str
) -> None:
    key = str(uuid.uuid4())
    body = body_for("leads", world, http)
    assert http.post("/v1/leads", json=body, headers={"Idempotency-Key": key}).status_code == 201
    with psycopg.connect(world.database_url, autocommit=True) as conn:
        assert _records_named(conn, key) == 1
        conn.execute(
            "UPDATE api.idempotency_keys SET expires_at = now() - interval '1 second' "
            "WHERE idempotency_key = %s",
            (key,),
        )
        with serving(make_app(api_database_url, None)):
            deadline = time.monotonic() + 10
            while _records_named(conn, key) and time.monotonic() < deadline:
                time.sleep(0.05)
        assert _records_named(conn, key) == 0


def _records_named(conn: psycopg.Connection[Any], key: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM api.idempotency_keys WHERE idempotency_key = %s", (key,)
    ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("resource", CREATABLE, ids=lambda resource: resource.path)
def test_a_replay_after_a_restart_is_the_first_answer_byte_for_byte(
    world: World, api_database_url: str, resource: Resource
) -> None:
    """Without Redis, so the database's record answers: a one-statement create records its
    row in the group commit, another create its rendered body. Either way the replay, by a
    worker started after the first one stopped, is the same bytes, and so is the object as
    read back."""
    platform = resource.kind in ("platform", "tenants")
    key = (
        world.platform.headers["Authorization"].removeprefix("Bearer ") if platform else world.a.key
    )
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    with serving(make_app(api_database_url, None)) as url, client(url, key) as http:
        body = body_for(resource.path, world, http)
        first = http.post(f"/v1/{resource.path}", json=body, headers=headers)
    assert first.status_code == 201, first.text
    with serving(make_app(api_database_url, None)) as url, client(url, key) as http:
        again = http.post(f"/v1/{resource.path}", json=body, headers=headers)
        if resource.kind != "tenants":  # a tenant is read with its own key
            read = http.get(f"/v1/{resource.path}/{first.json()['id']}")
            assert read.content == first.content
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    rows = world.count(
        f"SELECT count(*) FROM public.{resource.name} WHERE id = %s", first.json()["id"]
    )
    assert rows == 1
