"""`Idempotency-Key` on POST, with Stripe's semantics, and the transaction every write runs in.

- The first request with a key runs; its response (2xx only) is kept for
  `idempotency_ttl_seconds` (24 h) and every later request with the same key gets it back,
  with `Idempotent-Replayed: true`.
- The same key with another body (or route) is a 422. A request refused before it ran
  (validation) or failing keeps nothing, so it can be retried with the key.
- Requests racing on one key: the first runs, the others wait for its answer
  (up to `idempotency_wait_seconds`, then 409).

The record of a key is a row of `api.idempotency_keys`, written in the same transaction as
the write itself, so a write and its record commit together or not at all: a retry after a
crash, a lost response or a Redis outage finds it. A concurrent duplicate blocks on the row's
primary key until the first commits, then reads its answer; a first request that rolls back
leaves no row. Redis (`bcf:api:idem:<key id>:<sha256 of the key>`) sits in front: it answers
replays and makes racing requests wait without holding a database connection. Without Redis
the row alone does both. Expired rows are purged every `PURGE_EVERY_SECONDS`.

A create that is one statement (`KeyedCreate`) joins the group commit like a create without
a key: in the batch's transaction, under its own settings, a statement claims the key (it
fails when the key has a record) and the create records its row in the key's record in the
statement that writes it. The answer is rendered from that row as the statement reads it back
from the record, by the function that renders a replay from the same record: the first
answer and every replay are the same bytes. When the claim fails (a replay, an expired record,
a duplicate racing) the request goes the way of other writes: its own transaction, the key
claimed in the round trip that begins it (or its answer read), the answer (the rendered
body) recorded in the one that commits it, every statement prepared.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
import psycopg
from fastapi import Request, Response
from psycopg.pq import TransactionStatus
from psycopg_pool import PoolTimeout

from write_api.errors import ApiError
from write_api.round_trip import in_transaction
from write_api.runtime import ACT_AS_API, Principal, Runtime, tenant_setting
from write_api.statements import KEYED_CLAIM

log = logging.getLogger(__name__)

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
MAX_KEY_LENGTH: Final = 255
_PENDING_SECONDS: Final = 120  # a claim outlives any request; a crashed one frees the key
_POLL_SECONDS: Final = 0.02
PURGE_EVERY_SECONDS: Final = 600


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes  # JSON


# The open transaction of the key's record (an Idempotency-Key was sent), else None. Named once:
# endpoints annotate their nested `work` with it, evaluated on every request.
RecordTransaction = psycopg.AsyncConnection[Any] | None
# Work returns a 2xx outcome or raises (ApiError, a database error): only successes are kept.
Work = Callable[[RecordTransaction], Awaitable[Outcome]]
_RECORD_KEY: Final = "pk_idempotency_keys"  # the constraint a claim of a recorded key fails


@dataclass(frozen=True)
class KeyedCreate:
    """A create that is one statement, as it runs with a key: `statement`
    (`statements.keyed_insert_statement`) with `params`, answering 201 with `render` of its
    row; `replay` (`statements.replay_statement`) reads that row back from a key's record."""

    statement: str
    params: Mapping[str, Any]
    replay: str
    render: Callable[[dict[str, Any]], bytes]


def _response(outcome: Outcome, replayed: bool = False) -> Response:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    return Response(outcome.body, outcome.status, headers, media_type="application/json")


async def _fingerprint(request: Request) -> str:
    """The request's route and body, the body normalised so key order does not matter."""
    body = await request.body()
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def _presented(request: Request) -> str | None:
    if request.method != "POST":
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            400,
            "bad_request",
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters",
            field=HEADER,
        )
    return key


async def run_write(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    work: Work,
    create: KeyedCreate | None = None,
) -> Response:
    """Run `work` once per Idempotency-Key; with a key, `create` in its place when given
    (the same write, as one statement that joins the group commit).

    `work` gets the open `bcf_api` transaction the key's record is written in, or None (no
    key) and opens its own.
    """
    key = _presented(request)
    if key is None:
        return _response(await work(None))
    fingerprint = await _fingerprint(request)
    slot = f"bcf:api:idem:{principal.key_id}:{hashlib.sha256(key.encode()).hexdigest()}"
    deadline = time.monotonic() + runtime.api.idempotency_wait_seconds
    while True:
        answered, claimed = await runtime.with_key_records(
            lambda client: client.set(
                slot, orjson.dumps({"fp": fingerprint}), nx=True, ex=_PENDING_SECONDS
            )
        )
        if not answered:
            answer = await _run_keyed(runtime, principal, key, fingerprint, work, create)
            return _response(answer.outcome, answer.replayed)
        if claimed:
            break
        answered, stored = await runtime.with_key_records(lambda client: client.get(slot))
        if not answered:
            raise ApiError(409, "conflict", f"a request with this {HEADER} is in progress")
        if stored is None:
            continue  # the first request failed and released the key: claim it now
        record = orjson.loads(stored)
        if record["fp"] != fingerprint:
            raise _reused_key()
        if "status" in record:
            return _response(Outcome(record["status"], record["body"].encode()), replayed=True)
        if time.monotonic() > deadline:
            raise ApiError(409, "conflict", f"a request with this {HEADER} is still in progress")
        await asyncio.sleep(_POLL_SECONDS)
    try:
        answer = await _run_keyed(runtime, principal, key, fingerprint, work, create)
    except BaseException:
        await runtime.with_key_records(lambda client: client.delete(slot))
        raise
    outcome = answer.outcome
    record_bytes = orjson.dumps(
        {"fp": fingerprint, "status": outcome.status, "body": outcome.body.decode()}
    )
    await runtime.with_key_records(
        lambda client: client.set(slot, record_bytes, ex=answer.ttl_seconds)
    )
    return _response(outcome, answer.replayed)


def _reused_key() -> ApiError:
    return ApiError(
        422,
        "idempotency_key_reused",
        f"this {HEADER} was used with another request body or route",
        field=HEADER,
    )


@dataclass(frozen=True)
class _Answer:
    outcome: Outcome
    replayed: bool
    ttl_seconds: int  # how long the record has left


_CLAIM: Final = """
INSERT INTO api.idempotency_keys AS k (api_key_id, idempotency_key, request_sha256, expires_at)
VALUES (%(key_id)s, %(key)s, %(fp)s, now() + make_interval(secs => %(ttl)s))
ON CONFLICT (api_key_id, idempotency_key) DO UPDATE
    SET request_sha256 = excluded.request_sha256, response_status = NULL,
        response_body = NULL, created_at = now(), expires_at = excluded.expires_at
    WHERE k.expires_at < now()
RETURNING 1 AS claimed
"""
_STORED: Final = (
    "SELECT request_sha256, response_status, response_body, "
    "ceil(extract(epoch FROM expires_at - now()))::int AS seconds_left "
    "FROM api.idempotency_keys WHERE api_key_id = %(key_id)s AND idempotency_key = %(key)s"
)
_ANSWER: Final = (
    "UPDATE api.idempotency_keys SET response_status = %(status)s, response_body = %(body)s "
    "WHERE api_key_id = %(key_id)s AND idempotency_key = %(key)s"
)


async def _run_keyed(
    runtime: Runtime,
    principal: Principal,
    key: str,
    fingerprint: str,
    work: Work,
    create: KeyedCreate | None,
) -> _Answer:
    """The write and the key's record in one transaction: `create` in the group commit's,
    else (or when the key has a record already) `work` in one of its own."""
    if create is not None:
        ttl = runtime.api.idempotency_ttl_seconds
        claim = {"key_id": principal.key_id, "key": key, "fp": fingerprint, "ttl": ttl}
        try:
            row = await runtime.one_statement(
                principal,
                create.statement,
                {**create.params, "_key_id": principal.key_id, "_key": key},
                leading=((KEYED_CLAIM, claim),),
                exclusive=(principal.key_id, key),
            )
        except psycopg.errors.UniqueViolation as error:
            if error.diag.constraint_name != _RECORD_KEY:
                raise
            # Recorded already: replayed, refused, or claimed again if expired, below.
        else:
            assert row is not None
            return _Answer(Outcome(201, create.render(row)), False, ttl)
    return await _run_with_database_record(runtime, principal, key, fingerprint, work, create)


async def _run_with_database_record(
    runtime: Runtime,
    principal: Principal,
    key: str,
    fingerprint: str,
    work: Work,
    create: KeyedCreate | None,
) -> _Answer:
    """`work` in one transaction with the key's record: the key claimed in the round trip that
    begins it, the answer recorded in the one that commits it, every statement prepared."""
    ttl = runtime.api.idempotency_ttl_seconds
    names = {"key_id": principal.key_id, "key": key}
    async with runtime.pool.connection() as conn:
        try:
            _, claimed = await in_transaction(
                conn,
                [(ACT_AS_API, {"tenant": tenant_setting(principal)}),
                 (_CLAIM, {**names, "fp": fingerprint, "ttl": ttl})],
                begin=True,
            )  # fmt: skip
            if claimed is None:  # committed by the request that holds the key
                reads = [(_STORED, names)]
                if create is not None:  # a row recorded by a create in the group commit
                    reads.append((create.replay, {"_key_id": principal.key_id, "_key": key}))
                stored, *recorded = await in_transaction(conn, reads, commit=True)
                assert stored is not None
                if stored["request_sha256"] != fingerprint:
                    raise _reused_key()
                if stored["response_body"] is not None:
                    body = stored["response_body"].encode()
                else:  # the same route and body: a one-statement create, which kept its row
                    assert create is not None
                    assert recorded[0] is not None
                    body = create.render(recorded[0])
                outcome = Outcome(stored["response_status"], body)
                return _Answer(outcome, True, max(stored["seconds_left"], 1))
            outcome = await work(conn)
            answer = {**names, "status": outcome.status, "body": outcome.body.decode()}
            await in_transaction(conn, [(_ANSWER, answer)], commit=True)
        except BaseException:
            if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
                await conn.execute("ROLLBACK")
            raise
    return _Answer(outcome, False, ttl)


async def purge_expired_records(runtime: Runtime) -> int:
    """Delete the records past their expiry; how many went."""
    async with runtime.transaction(None) as conn:
        cursor = await conn.execute("DELETE FROM api.idempotency_keys WHERE expires_at < now()")
        return cursor.rowcount


async def purge_expired_records_forever(runtime: Runtime) -> None:
    """`purge_expired_records` now and every `PURGE_EVERY_SECONDS`, while the worker runs."""
    while True:
        try:
            await purge_expired_records(runtime)
        except (psycopg.Error, PoolTimeout) as error:
            log.warning("could not purge expired idempotency records: %s", error)
        await asyncio.sleep(PURGE_EVERY_SECONDS)
