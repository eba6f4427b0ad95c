"""Who is calling: `Authorization: Bearer <key>` (or `X-API-Key`), checked against api.api_keys.

A verified key is cached per worker for `key_cache_seconds`, so a request costs no extra
database read; a revoked key stops working within that time. The rate limit is a counter
per key and clock minute in Redis (`rate_limit.py`); without Redis there is no limit (never
an outage).
"""

from __future__ import annotations

import hmac
import time
from typing import Final

from fastapi import Request

from write_api import keys
from write_api.errors import ApiError
from write_api.runtime import CachedKey, Principal, Runtime, fetch_one

_UNAUTHORIZED_HEADERS: Final = {"WWW-Authenticate": 'Bearer realm="bcf"'}


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _presented_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if api_key := request.headers.get("x-api-key"):
        return api_key.strip()
    raise ApiError(
        401,
        "unauthenticated",
        "an API key is required: Authorization: Bearer <key>",
        field="Authorization",
        headers=_UNAUTHORIZED_HEADERS,
    )


async def _lookup(runtime: Runtime, presented: str) -> Principal | None:
    prefix = keys.split_key(presented)
    if prefix is None:
        return None
    now = time.monotonic()
    cached = runtime.key_cache.get(prefix)
    if cached is None or cached.expires <= now:
        async with runtime.transaction(None) as conn:
            row = await fetch_one(
                conn,
                "SELECT id, name, tenant_id, scopes, secret_sha256 FROM api.api_keys "
                "WHERE prefix = %s AND revoked_at IS NULL",
                (prefix,),
            )
        cached = CachedKey(
            now + runtime.api.key_cache_seconds,
            row["secret_sha256"] if row else "",
            Principal(row["id"], prefix, row["name"], row["tenant_id"], frozenset(row["scopes"]))
            if row
            else None,
        )
        if runtime.api.key_cache_seconds > 0:
            runtime.key_cache[prefix] = cached
    if cached.principal is None:
        return None
    # Hashed once while cached; then the key that matched is compared (hashing was 1 %).
    given = presented.encode()
    if not (cached.verified and hmac.compare_digest(given, cached.verified)):
        if not keys.matches(presented, cached.stored_hash):
            return None
        cached.verified = given
    return cached.principal


async def authenticate(request: Request, scope: str) -> Principal:
    """The calling key, after its scope and rate limit are checked."""
    runtime = runtime_of(request)
    principal = await _lookup(runtime, _presented_key(request))
    if principal is None:
        raise ApiError(
            401,
            "unauthenticated",
            "unknown or revoked API key",
            field="Authorization",
            headers=_UNAUTHORIZED_HEADERS,
        )
    if scope not in principal.scopes:
        raise ApiError(403, "forbidden", f"this key lacks the scope '{scope}'")
    await _rate_limit(runtime, principal)
    request.state.principal = principal
    return principal


async def _rate_limit(runtime: Runtime, principal: Principal) -> None:
    now = time.time()
    if not await runtime.rate_limiter.admit(runtime.with_redis, principal.key_id, int(now // 60)):
        limit = runtime.rate_limiter.limit
        retry_after = max(1, int(60 - now % 60 + 0.999))
        raise ApiError(
            429,
            "rate_limited",
            f"more than {limit} requests this minute for this key; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
