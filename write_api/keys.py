"""API keys: `bcf_<prefix>_<secret>`, stored as the prefix and a SHA-256 of the whole key.

The secret is 32 random bytes, so a plain SHA-256 is as good as a slow hash here and
lets every request be checked in microseconds. The key is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg

from core.db.engine import libpq_url

SCOPES: Final = ("read", "write", "track")
KEY_PREFIX: Final = "bcf_"


class ApiKeyError(ValueError):
    """A key command cannot do what was asked; the message says why, in one line."""


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    prefix: str
    name: str
    tenant_id: uuid.UUID | None  # None: a platform key
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


def secret_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = key[len(KEY_PREFIX) :].partition("_")
    return prefix if prefix and secret else None


def matches(key: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(secret_hash(key), stored_sha256)


def create_key(
    url: str, name: str, *, tenant_id: uuid.UUID | None, scopes: tuple[str, ...]
) -> tuple[ApiKey, str]:
    """A new key for a tenant (or the platform, with tenant_id None): (its row, the key)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ApiKeyError(f"scopes must be among {', '.join(SCOPES)}; got {', '.join(scopes)}")
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with psycopg.connect(libpq_url(url)) as conn:
        if tenant_id is not None:
            found = conn.execute("SELECT 1 FROM public.tenants WHERE id = %s", (tenant_id,))
            if found.fetchone() is None:
                raise ApiKeyError(f"no tenant {tenant_id}")
        row = conn.execute(
            "INSERT INTO api.api_keys (prefix, secret_sha256, name, tenant_id, scopes) "
            "VALUES (%s, %s, %s, %s, %s) "
            "RETURNING id, prefix, name, tenant_id, scopes, created_at, revoked_at",
            (prefix, secret_hash(key), name, tenant_id, sorted(set(scopes))),
        ).fetchone()
    assert row is not None
    return _key(row), key


def revoke_key(url: str, prefix_or_id: str) -> ApiKey:
    """Revoke a key by its prefix (or id); revoking twice keeps the first time."""
    column = "id::text" if _is_uuid(prefix_or_id) else "prefix"
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            f"UPDATE api.api_keys SET revoked_at = coalesce(revoked_at, now()) "
            f"WHERE {column} = %s "
            "RETURNING id, prefix, name, tenant_id, scopes, created_at, revoked_at",
            (prefix_or_id.removeprefix(KEY_PREFIX).split("_")[0] if column == "prefix"
             else prefix_or_id,),
        ).fetchone()  # fmt: skip
    if row is None:
        raise ApiKeyError(f"no key {prefix_or_id}")
    return _key(row)


def list_keys(url: str, tenant_id: uuid.UUID | None = None) -> list[ApiKey]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT id, prefix, name, tenant_id, scopes, created_at, revoked_at "
            "FROM api.api_keys WHERE %(tenant)s::uuid IS NULL OR tenant_id = %(tenant)s "
            "ORDER BY created_at, prefix",
            {"tenant": tenant_id},
        ).fetchall()
    return [_key(row) for row in rows]


def _key(row: tuple[Any, ...]) -> ApiKey:
    id_, prefix, name, tenant_id, scopes, created_at, revoked_at = row
    return ApiKey(id_, prefix, name, tenant_id, tuple(scopes), created_at, revoked_at)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
