"""The SQL of the write API's resources: reads, and writes with their audit rows.

Each write is one statement: the row's INSERT, UPDATE or DELETE and its `audit_logs` row, in
CTEs, answering with the row as responses show it. Statements are built once per resource
and set of columns (cached), as text, so psycopg prepares them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Final

from psycopg import sql

from write_api.resources import BY_PATH, Resource

_AUDIT_INSERT: Final = sql.SQL(
    "INSERT INTO public.audit_logs "
    "(tenant_id, action, resource, resource_id, old_values, new_values, ip_address, "
    "user_agent, metadata) "
    "SELECT %(_tenant)s::uuid, {action}, {resource}, {row_id}, {old}, {new}, "
    "%(_ip)s::inet, %(_ua)s, %(_meta)s::jsonb FROM {source}"
)


def _audit(resource: Resource, action: str, source: str, old: sql.Composable | None,
           new: sql.Composable | None) -> sql.Composable:  # fmt: skip
    null = sql.SQL("NULL::jsonb")
    return _AUDIT_INSERT.format(
        action=sql.Literal(action),
        resource=sql.Literal(resource.name),
        row_id=sql.SQL("{}.id").format(sql.Identifier(source)),
        old=old or null,
        new=new or null,
        source=sql.Identifier(source),
    )


def _table(resource: Resource) -> sql.Composable:
    return sql.SQL("public.{}").format(sql.Identifier(resource.name))


def _shown_columns(resource: Resource) -> sql.Composable:
    """The row a write answers with, column by column: a prepared statement's result stays
    the same shape when a migration adds a column (`*` would make it fail once per
    connection with "cached plan must not change result type")."""
    return sql.SQL(", ").join(map(sql.Identifier, resource.table.c.keys()))


# What `select_statement` reads: one row, one row locked for its update, a page.
BY_ID: Final = "id = %s"
BY_ID_FOR_UPDATE: Final = "id = %s FOR UPDATE"
PAGE: Final = "(%(after)s::uuid IS NULL OR id > %(after)s::uuid) ORDER BY id LIMIT %(limit)s"


@functools.cache
def select_statement(resource: Resource, where: str) -> str:
    """The rows `where` (the WHERE clause and what follows) selects, as responses show them."""
    return (
        sql.SQL("SELECT {shown} FROM {table} WHERE {where}")
        .format(shown=_shown_columns(resource), table=_table(resource), where=sql.SQL(where))
        .as_string()
    )


def insert_statement(resource: Resource, columns: Iterable[str]) -> str:
    return _insert_text(resource.path, tuple(columns))


@functools.cache
def _insert_text(path: str, names: tuple[str, ...]) -> str:
    resource = BY_PATH[path]
    return (
        sql.SQL(
            "WITH new AS (INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING *), "
            "audit AS ({audit}) SELECT {shown} FROM new"
        )
        .format(
            table=_table(resource),
            shown=_shown_columns(resource),
            columns=sql.SQL(", ").join(map(sql.Identifier, names)),
            values=sql.SQL(", ").join(map(sql.Placeholder, names)),
            audit=_audit(resource, "create", "new", None, resource.audited("new")),
        )
        .as_string()
    )


# The key's record of a create that joins the group commit: claimed by the statement before
# the create (it fails when the key has a record), answered by the create itself.
KEYED_CLAIM: Final = (
    "INSERT INTO api.idempotency_keys (api_key_id, idempotency_key, request_sha256, expires_at) "
    "VALUES (%(key_id)s, %(key)s, %(fp)s, now() + make_interval(secs => %(ttl)s))"
)
_KEY_RECORD: Final = "api_key_id = %(_key_id)s AND idempotency_key = %(_key)s"


def keyed_insert_statement(resource: Resource, columns: Iterable[str]) -> str:
    """`insert_statement`, and the row recorded as the answer of the key `%(_key_id)s`,
    `%(_key)s` (claimed before it, `KEYED_CLAIM`): it answers with the row as read back from
    that record, exactly as `replay_statement` reads it later."""
    return _keyed_insert_text(resource.path, tuple(columns))


@functools.cache
def _keyed_insert_text(path: str, names: tuple[str, ...]) -> str:
    resource = BY_PATH[path]
    return (
        sql.SQL(
            "WITH new AS (INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING *), "
            "audit AS ({audit}), "
            "answer AS (UPDATE api.idempotency_keys "
            "SET response_status = 201, response_row = (SELECT to_jsonb(new) FROM new) "
            "WHERE {record} RETURNING response_row) "
            "SELECT {shown} FROM answer, "
            "jsonb_populate_record(NULL::{table}, answer.response_row) AS stored"
        )
        .format(
            table=_table(resource),
            shown=_stored_columns(resource),
            columns=sql.SQL(", ").join(map(sql.Identifier, names)),
            values=sql.SQL(", ").join(map(sql.Placeholder, names)),
            audit=_audit(resource, "create", "new", None, resource.audited("new")),
            record=sql.SQL(_KEY_RECORD),
        )
        .as_string()
    )


def _stored_columns(resource: Resource) -> sql.Composable:
    """`_shown_columns` of the row read back from a key's record, aliased `stored`."""
    return sql.SQL(", ").join(
        sql.SQL("stored.{0} AS {0}").format(sql.Identifier(column.name))
        for column in resource.table.c
    )


@functools.cache
def replay_statement(resource: Resource) -> str:
    """The row recorded by `keyed_insert_statement` for the key `%(_key_id)s`, `%(_key)s`, as
    that statement answered with it; no row when the key's record holds none."""
    return (
        sql.SQL(
            "SELECT {shown} FROM api.idempotency_keys AS k, "
            "jsonb_populate_record(NULL::{table}, k.response_row) AS stored "
            "WHERE k.api_key_id = %(_key_id)s AND k.idempotency_key = %(_key)s "
            "AND k.response_row IS NOT NULL"
        )
        .format(table=_table(resource), shown=_stored_columns(resource))
        .as_string()
    )


def update_statement(resource: Resource, columns: Iterable[str]) -> str:
    return _update_text(resource.path, tuple(columns))


@functools.cache
def _update_text(path: str, columns: tuple[str, ...]) -> str:
    return _audited_update(
        BY_PATH[path],
        [
            sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder(name))
            for name in columns
        ],
    )


@functools.cache
def increment_statement(resource: Resource, column: str) -> str:
    increment = sql.SQL("{column} = coalesce({column}, 0) + 1").format(
        column=sql.Identifier(column)
    )
    return _audited_update(resource, [increment])


def _audited_update(resource: Resource, assignments: list[sql.Composable]) -> str:
    """The row with id `%(_id)s` updated by `assignments` (and `updated_at` where the table has
    one), with its audit row."""
    if "updated_at" in resource.table.c:
        assignments = [*assignments, sql.SQL("updated_at = now()")]
    return sql.SQL(
        "WITH old AS (SELECT * FROM {table} WHERE id = %(_id)s), "
        "new AS (UPDATE {table} SET {assignments} WHERE id = %(_id)s RETURNING *), "
        "audit AS ({audit}) SELECT {shown} FROM new"
    ).format(
        table=_table(resource),
        shown=_shown_columns(resource),
        assignments=sql.SQL(", ").join(assignments),
        audit=_audit(resource, "update", "new", sql.SQL("(SELECT {} FROM old)").format(
            resource.audited("old")), resource.audited("new")),
    ).as_string()  # fmt: skip


@functools.cache
def delete_statement(resource: Resource) -> str:
    return (
        sql.SQL(
            "WITH old AS (DELETE FROM {table} WHERE id = %(_id)s RETURNING *), "
            "audit AS ({audit}) SELECT id FROM old"
        )
        .format(
            table=_table(resource),
            audit=_audit(resource, "delete", "old", resource.audited("old"), None),
        )
        .as_string()
    )
