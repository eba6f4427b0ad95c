"""The operational tables as resources: which key may touch them, which columns are writable.

Every resource gets `GET /v1/<path>` (a page), `POST /v1/<path>`, `GET`/`PATCH
/v1/<path>/{id}` and, where deleting makes sense with the seed's cascades, `DELETE`.
Scopes: `read` for GETs, `write` for the rest. Kinds of key:

- `tenant`: tables with `tenant_id`; a tenant's key only. The tenant is the key's, stamped on
  create; row-level security hides other tenants' rows, so their ids are a 404.
- `child`: tables isolated through their parent (a referral link through its campaign);
  the parent named in a create must be visible to the key, else 422.
- `platform`: global tables (departments, plans, templates, configuration, CEO analyses);
  a platform key only.
- `tenants`: a platform key creates tenants; a tenant's key reads and updates its own.

A column a tenant-isolated table refers to (an achievement, a parent document, a role) must
be visible to the key too: foreign keys are checked by PostgreSQL without row-level security.
"""

# No `from __future__ import annotations`: FastAPI reads the route functions' annotations,
# which name models built at runtime.

import functools
import ipaddress
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Final, Literal

import orjson
import psycopg
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from typing_extensions import TypedDict

from core.db import schema
from write_api import secrets_box
from write_api.auth import authenticate, runtime_of
from write_api.dispatch import RequestOnlyRoute, body_schema
from write_api.errors import ERROR_RESPONSES, ApiError, not_found
from write_api.idempotency import Outcome, RecordTransaction, run_write
from write_api.models import (
    ReadModel,
    WriteModel,
    create_model_for,
    page_model_for,
    read_model_for,
    update_model_for,
)
from write_api.runtime import Principal, Runtime, fetch_all, fetch_one

Kind = Literal["tenant", "child", "platform", "tenants"]
Connection = psycopg.AsyncConnection[Any]


@dataclass(frozen=True)
class WriteContext:
    """What a write's hooks may use: its transaction, its key, the encryption secret."""

    conn: Connection
    principal: Principal
    secret_key: str


# (context, resource, values being written, the old row or None on create)
Hook = Callable[[WriteContext, "Resource", dict[str, Any], dict[str, Any] | None], Awaitable[None]]

_RLS_TABLES: Final = frozenset(
    {*schema.TENANT_SCOPED_TABLES, *schema.TENANT_SCOPED_VIA_PARENT, "tenants"}
)


@dataclass(eq=False)  # compared and hashed by identity: one object per resource
class Resource:
    path: str  # URL segment, plural, kebab-case
    table: Table
    kind: Kind
    fields: tuple[str, ...]  # writable on create
    create_only: tuple[str, ...] = ()  # of `fields`: set once, never updated (parents, keys)
    can_create: bool = True
    can_delete: bool = False
    # Adjusts the values before a create (old None) or update; may read the database.
    prepare: Hook | None = None
    # Runs after a create, in the same transaction, with the new row in `values`.
    after_create: Hook | None = None
    # Columns shown redacted in responses and audit rows when `redact_when` is true on the row.
    redacted: tuple[str, ...] = ()
    redact_when: str | None = None
    counters: dict[str, str] = field(default_factory=dict)  # sub-path: column incremented

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def label(self) -> str:
        return self.path.replace("-", " ").removesuffix("s")

    @cached_property
    def update_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f not in self.create_only)

    @cached_property
    def create_model(self) -> type[WriteModel]:
        return create_model_for(_camel(self.path, "Create"), self.table, self.fields)

    @cached_property
    def update_model(self) -> type[WriteModel]:
        return update_model_for(_camel(self.path, "Update"), self.table, self.update_fields)

    @cached_property
    def read_model(self) -> type[ReadModel]:
        return read_model_for(_camel(self.path, ""), self.table)

    @cached_property
    def references(self) -> dict[str, str]:
        """Writable columns that point at a tenant-isolated table: {column: that table}."""
        found = {}
        for name in self.fields:
            for key in self.table.c[name].foreign_keys:
                target = key.column.table.name
                if target in _RLS_TABLES:
                    found[name] = target
        return found

    @cached_property
    def json_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.table.columns if isinstance(c.type, postgresql.JSONB))

    def audited(self, row: str) -> sql.Composable:
        """The audit image of the CTE row `row`, sensitive columns redacted."""
        image = sql.SQL("to_jsonb({})").format(sql.Identifier(row))
        if not self.redacted:
            return image
        mask = Jsonb({name: secrets_box.REDACTED for name in self.redacted})
        return sql.SQL("CASE WHEN {}.{} THEN {} || {} ELSE {} END").format(
            sql.Identifier(row),
            sql.Identifier(self.redact_when or ""),
            image,
            sql.Literal(mask),
            image,
        )

    @cached_property
    def row_json(self) -> TypeAdapter[Any]:
        """The read model's JSON of a row as the database returns it: its columns already
        have their types, so it is serialized without being validated again."""
        fields = {name: info.annotation for name, info in self.read_model.model_fields.items()}
        return TypeAdapter(TypedDict(self.read_model.__name__, fields))  # type: ignore[operator]

    def present(self, row: dict[str, Any]) -> bytes:
        if self.redacted and row.get(self.redact_when or ""):
            row = {**row, **{name: secrets_box.REDACTED for name in self.redacted}}
        return self.row_json.dump_json(row)


def _camel(path: str, suffix: str) -> str:
    return "".join(part.capitalize() for part in path.split("-")) + suffix


# ---------------------------------------------------------------------------------------
# Hooks: configuration values, document versions
# ---------------------------------------------------------------------------------------


async def _protect_configuration(
    context: WriteContext,
    resource: Resource,
    values: dict[str, Any],
    old: dict[str, Any] | None,
) -> None:
    """A sensitive value is stored encrypted (is_encrypted) and never shown again in clear."""
    if old is not None and old.get("is_readonly"):
        raise ApiError(409, "read_only", "this configuration is read-only", field="value")
    was_sensitive = bool(old and old["is_sensitive"])
    if was_sensitive and values.get("is_sensitive") is False:
        raise ApiError(
            422,
            "invalid_value",
            "a sensitive value stays sensitive; delete it and create it again",
            field="is_sensitive",
        )
    sensitive = bool(values.get("is_sensitive", was_sensitive))
    if not sensitive:
        return
    if "value" in values:
        values["value"] = secrets_box.encrypt(context.secret_key, values["value"])
        values["is_encrypted"] = True
    elif old is not None and not old["is_encrypted"]:
        values["value"] = secrets_box.encrypt(context.secret_key, old["value"])
        values["is_encrypted"] = True


async def _next_document_version(
    context: WriteContext,
    resource: Resource,
    values: dict[str, Any],
    old: dict[str, Any] | None,
) -> None:
    """Versions are numbered by the server: the document's row is locked, then max + 1."""
    row = await fetch_one(
        context.conn,
        "SELECT coalesce((SELECT max(v.version_number) FROM public.document_versions AS v "
        "WHERE v.document_id = d.id), 0) + 1 AS next "
        "FROM public.documents AS d WHERE d.id = %s FOR NO KEY UPDATE",
        (values["document_id"],),
    )
    if row is None:
        raise ApiError(
            422, "invalid_reference", "document_id: no such document", field="document_id"
        )
    values["version_number"] = row["next"]


async def _bump_document_version(
    context: WriteContext,
    resource: Resource,
    values: dict[str, Any],
    old: dict[str, Any] | None,
) -> None:
    await context.conn.execute(
        "UPDATE public.documents SET version = %s, updated_at = now() WHERE id = %s",
        (values["version_number"], values["document_id"]),
    )


def _configuration(path: str, table: Table, fields: tuple[str, ...], kind: Kind) -> Resource:
    return Resource(
        path,
        table,
        kind,
        fields,
        can_delete=True,
        prepare=_protect_configuration,
        redacted=("value",),
        redact_when="is_sensitive",
    )


RESOURCES: Final[tuple[Resource, ...]] = (
    Resource(
        "tenants", schema.tenants, "tenants",
        ("name", "slug", "type", "status", "settings", "metadata"),
    ),
    Resource(
        "tenant-members", schema.tenant_members, "tenant",
        ("user_id", "role", "permissions", "status", "joined_at"),
        create_only=("user_id",), can_delete=True,
    ),
    Resource(
        "users", schema.users, "platform", ("email", "email_verified", "name", "image"),
    ),
    Resource(
        "departments", schema.departments, "platform",
        ("name", "slug", "description", "is_active", "settings"), can_delete=True,
    ),
    Resource(
        "department-agents", schema.department_agents, "platform",
        ("department_id", "agent_name", "agent_type", "configuration", "capabilities",
         "is_active", "last_activity"),
        create_only=("department_id",), can_delete=True,
    ),
    Resource(
        "plans", schema.subscription_plans, "platform",
        ("name", "slug", "description", "price", "currency", "billing_cycle", "stripe_price_id",
         "features", "limits", "is_active", "sort_order"),
    ),
    Resource(
        "referral-campaigns", schema.referral_campaigns, "tenant",
        ("name", "description", "is_active", "start_date", "end_date", "reward_type",
         "reward_value", "max_rewards", "rules", "created_by"),
        can_delete=True,
    ),
    Resource(
        "referral-links", schema.referral_links, "child",
        ("campaign_id", "user_id", "referral_code", "qr_code_url", "is_active"),
        create_only=("campaign_id",), can_delete=True,
        counters={"clicks": "click_count", "conversions": "conversion_count"},
    ),
    Resource(
        "achievements", schema.gamification_achievements, "tenant",
        ("name", "description", "icon", "points", "category", "requirements", "is_active"),
        can_delete=True,
    ),
    Resource(
        "user-achievements", schema.user_achievements, "tenant",
        ("user_id", "achievement_id", "earned_at", "metadata"),
        create_only=("user_id", "achievement_id"), can_delete=True,
    ),
    Resource(
        "leads", schema.leads, "tenant",
        ("name", "email", "phone", "company", "source", "status", "score", "assigned_to",
         "metadata"),
        can_delete=True,
    ),
    Resource(
        "support-tickets", schema.support_tickets, "tenant",
        ("ticket_number", "user_id", "subject", "description", "category", "priority",
         "status", "assigned_to", "tags", "metadata", "resolved_at"),
        create_only=("ticket_number", "user_id"),
    ),
    Resource(
        "support-messages", schema.support_messages, "child",
        ("ticket_id", "user_id", "message_type", "content", "is_internal", "attachments",
         "metadata"),
        create_only=("ticket_id", "user_id"),
    ),
    Resource(
        "knowledge-base-articles", schema.support_knowledge_base, "platform",
        ("title", "content", "category", "tags", "is_published", "created_by", "updated_by"),
        create_only=("created_by",), can_delete=True,
    ),
    Resource(
        "notification-templates", schema.notification_templates, "platform",
        ("department_id", "template_key", "template_name", "template_type", "subject",
         "content", "variables", "priority", "category", "is_active", "created_by"),
        create_only=("created_by",), can_delete=True,
    ),
    Resource(
        "notification-channels", schema.notification_channels, "platform",
        ("channel_name", "channel_type", "configuration", "is_active", "priority_order",
         "rate_limit_per_minute", "rate_limit_per_hour"),
        can_delete=True,
    ),
    Resource(
        "notification-preferences", schema.user_notification_preferences, "platform",
        ("user_id", "department_id", "notification_type", "channel_preferences", "is_enabled",
         "quiet_hours_start", "quiet_hours_end", "timezone"),
        create_only=("user_id", "department_id", "notification_type"), can_delete=True,
    ),
    Resource(
        "notifications", schema.notifications, "platform",
        ("user_id", "department_id", "template_id", "channel_id", "notification_type",
         "category", "priority", "subject", "content", "variables", "status", "scheduled_for",
         "sent_at", "delivered_at", "read_at", "metadata"),
        create_only=("user_id",),
    ),
    Resource(
        "documents", schema.documents, "tenant",
        ("title", "description", "content", "file_type", "file_size", "file_path", "mime_type",
         "category", "tags", "is_public", "is_archived", "parent_id", "created_by",
         "updated_by", "metadata"),
        create_only=("created_by",), can_delete=True,
    ),
    Resource(
        "document-versions", schema.document_versions, "child",
        ("document_id", "title", "content", "file_path", "file_size", "change_summary",
         "created_by"),
        create_only=("document_id", "title", "content", "file_path", "file_size",
                     "change_summary", "created_by"),
        prepare=_next_document_version, after_create=_bump_document_version,
    ),
    Resource(
        "document-permissions", schema.document_permissions, "child",
        ("document_id", "user_id", "role_id", "permission_type", "granted_by", "expires_at"),
        create_only=("document_id", "granted_by"), can_delete=True,
    ),
    _configuration(
        "system-configurations", schema.system_configurations,
        ("key", "value", "data_type", "category", "description", "is_sensitive", "is_readonly",
         "validation_rules", "created_by", "updated_by"),
        "platform",
    ),
    _configuration(
        "department-configurations", schema.department_configurations,
        ("department_id", "key", "value", "data_type", "description", "is_sensitive",
         "validation_rules", "created_by", "updated_by"),
        "platform",
    ),
    _configuration(
        "tenant-configurations", schema.tenant_configurations,
        ("key", "value", "data_type", "description", "is_sensitive", "validation_rules",
         "created_by", "updated_by"),
        "tenant",
    ),
    Resource(
        "ceo-strategic-analyses", schema.ceo_strategic_analysis, "platform",
        ("analysis_type", "title", "summary", "detailed_analysis", "recommendations",
         "priority", "status", "assigned_to", "due_date", "created_by"),
        create_only=("created_by",),
    ),
    Resource(
        "ceo-decisions", schema.ceo_decisions, "platform",
        ("decision_type", "title", "description", "context", "options", "chosen_option",
         "rationale", "impact_assessment", "implementation_plan", "status", "priority",
         "created_by", "approved_by"),
        create_only=("created_by",),
    ),
    Resource(
        "irregularities", schema.irregularity_detection, "tenant",
        ("status", "assigned_to", "resolution_notes", "resolved_at"),
        can_create=False,
    ),
)  # fmt: skip
BY_PATH: Final = {resource.path: resource for resource in RESOURCES}


# ---------------------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------------------

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
_BY_ID: Final = "id = %s"
_BY_ID_FOR_UPDATE: Final = "id = %s FOR UPDATE"
_PAGE: Final = "(%(after)s::uuid IS NULL OR id > %(after)s::uuid) ORDER BY id LIMIT %(limit)s"


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


# ---------------------------------------------------------------------------------------
# Request handling
# ---------------------------------------------------------------------------------------


def _client_ip(request: Request) -> str | None:
    return _ip_address(request.client.host) if request.client else None


@functools.lru_cache(maxsize=4096)  # clients come back: parsing was 5 % of a create
def _ip_address(host: str) -> str | None:
    """The host as an IP address for `audit_logs.ip_address`; None when it is no address."""
    try:
        return str(ipaddress.ip_address(host)) if host else None
    except ValueError:
        return None


def _audit_params(request: Request, principal: Principal) -> dict[str, Any]:
    meta = {
        "api_key_id": str(principal.key_id),
        "api_key_prefix": principal.prefix,
        "api_key_name": principal.name,
    }
    if key := request.headers.get("idempotency-key"):
        meta["idempotency_key"] = key
    return {
        "_tenant": principal.tenant_id,
        "_ip": _client_ip(request),
        "_ua": request.headers.get("user-agent"),
        "_meta": Jsonb(meta, dumps=orjson.dumps),  # strings only: orjson's JSON is the same
    }


def _require_kind(resource: Resource, principal: Principal, action: str) -> None:
    if resource.kind in ("tenant", "child") and principal.is_platform:
        raise ApiError(403, "forbidden", f"{resource.path} belong to a tenant: use a tenant's key")
    if resource.kind == "platform" and not principal.is_platform:
        raise ApiError(403, "forbidden", f"{resource.path} are global: use a platform key")
    if resource.kind == "tenants":
        if action == "create" and not principal.is_platform:
            raise ApiError(403, "forbidden", "only a platform key creates tenants")
        if action != "create" and principal.is_platform:
            raise ApiError(403, "forbidden", "a tenant is read and updated with its own key")


def _guard(resource: Resource, action: str) -> Callable[[Request], Awaitable[Principal]]:
    """The key's check for `action` on `resource`, awaited first thing in each endpoint (so a
    stranger gets 401, not 422 for the body). Not a FastAPI dependency: solving one cost a
    create 7 % of its CPU."""
    scope = "read" if action == "read" else "write"

    async def principal_for(request: Request) -> Principal:
        principal = await authenticate(request, scope)
        _require_kind(resource, principal, action)
        return principal

    return principal_for


def _parameters(resource: Resource, values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: Jsonb(value) if name in resource.json_columns and value is not None else value
        for name, value in values.items()
    }


async def _read_body(request: Request, model: type[WriteModel]) -> WriteModel:
    """The JSON body as `model`; refused as FastAPI refuses a body parameter, a 422 whose
    errors are located under `body`. Parsed and validated in one step by pydantic: FastAPI's
    body parameter (json.loads, then validation) cost a create 4 % of its CPU."""
    raw = await request.body()
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
        )
    if not _is_json(request.headers.get("content-type", "")):
        raise RequestValidationError(
            [
                {
                    "type": "content_type",
                    "loc": ("body",),
                    "msg": "the body must be JSON, sent as Content-Type: application/json",
                    "input": None,
                }
            ]
        )
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _check_references(conn: Connection, resource: Resource, values: dict[str, Any]) -> None:
    for column, target in resource.references.items():
        value = values.get(column)
        if value is None:
            continue
        found = await fetch_one(
            conn,
            sql.SQL("SELECT 1 AS found FROM public.{} WHERE id = %s").format(
                sql.Identifier(target)
            ),
            (value,),
        )
        if found is None:
            raise ApiError(
                422,
                "invalid_reference",
                f"{column}: no such {target} row for this key",
                field=column,
            )


async def _in_transaction(
    runtime: Runtime,
    principal: Principal,
    conn: Connection | None,
    steps: Callable[[Connection], Awaitable[Outcome]],
) -> Outcome:
    """`steps` in the transaction already open for the idempotency record, else in a new one."""
    if conn is not None:
        return await steps(conn)
    async with runtime.transaction(principal) as own:
        return await steps(own)


async def _one_statement(
    runtime: Runtime,
    principal: Principal,
    conn: Connection | None,
    statement: str,
    params: dict[str, Any],
) -> dict[str, Any] | None:
    """A write that is one statement (row and audit row): one round trip when on its own."""
    if conn is not None:
        return await fetch_one(conn, statement, params)
    return await runtime.one_statement(principal, statement, params)


async def _create(
    runtime: Runtime,
    conn: Connection | None,
    request: Request,
    resource: Resource,
    principal: Principal,
    body: WriteModel,
) -> Outcome:
    values = body.model_dump(exclude_unset=True)
    if resource.kind == "tenant":
        values["tenant_id"] = principal.tenant_id
    params = _audit_params(request, principal)
    checked = [column for column in resource.references if values.get(column) is not None]
    if not checked and resource.prepare is None and resource.kind != "tenants":
        statement = insert_statement(resource, values)
        row = await _one_statement(
            runtime, principal, conn, statement, {**_parameters(resource, values), **params}
        )
        assert row is not None
        return Outcome(201, resource.present(row))

    async def steps(conn: Connection) -> Outcome:
        context = WriteContext(conn, principal, runtime.settings.secret_key.get_secret_value())
        await _check_references(conn, resource, values)
        if resource.kind == "tenants":
            # The new tenant's row must pass its own policy: the transaction acts as it.
            values["id"] = params["_tenant"] = uuid.uuid4()
            await conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(values["id"]),))
        if resource.prepare is not None:
            await resource.prepare(context, resource, values, None)
        row = await fetch_one(
            conn, insert_statement(resource, values), {**_parameters(resource, values), **params}
        )
        assert row is not None
        if resource.after_create is not None:
            await resource.after_create(context, resource, row, None)
        return Outcome(201, resource.present(row))

    return await _in_transaction(runtime, principal, conn, steps)


async def _update(
    runtime: Runtime,
    conn: Connection | None,
    request: Request,
    resource: Resource,
    principal: Principal,
    object_id: uuid.UUID,
    body: WriteModel,
) -> Outcome:
    values = body.model_dump(exclude_unset=True)
    if not values:
        raise ApiError(422, "invalid_request", "nothing to update: the body sets no field")
    for name, value in values.items():
        if value is None and not resource.table.c[name].nullable:
            raise ApiError(422, "invalid_value", f"{name} cannot be null", field=name)
    params = {
        **_parameters(resource, values),
        **_audit_params(request, principal),
        "_id": object_id,
    }
    checked = [column for column in resource.references if values.get(column) is not None]
    if not checked and resource.prepare is None:
        row = await _one_statement(
            runtime, principal, conn, update_statement(resource, values), params
        )
        if row is None:
            raise not_found(resource.label)
        return Outcome(200, resource.present(row))

    async def steps(conn: Connection) -> Outcome:
        old = await fetch_one(conn, select_statement(resource, _BY_ID_FOR_UPDATE), (object_id,))
        if old is None:
            raise not_found(resource.label)
        await _check_references(conn, resource, values)
        if resource.prepare is not None:
            context = WriteContext(conn, principal, runtime.settings.secret_key.get_secret_value())
            await resource.prepare(context, resource, values, old)
            params.update(_parameters(resource, values))
        row = await fetch_one(conn, update_statement(resource, values), params)
        if row is None:
            raise not_found(resource.label)
        return Outcome(200, resource.present(row))

    return await _in_transaction(runtime, principal, conn, steps)


def _routes(router: APIRouter, prefix: str, resource: Resource, page_max: int) -> None:
    Create, Update, Read = resource.create_model, resource.update_model, resource.read_model
    Page = page_model_for(_camel(resource.path, "Page"), Read)
    base = f"{prefix}/{resource.path}"
    tags = [resource.path]

    select_page, select_one = select_statement(resource, _PAGE), select_statement(resource, _BY_ID)
    reader, creator = _guard(resource, "read"), _guard(resource, "create")
    updater = _guard(resource, "update")

    async def list_objects(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=page_max, description="Rows per page.")] = 50,
        after: Annotated[
            uuid.UUID | None, Query(description="Rows with an id after this one.")
        ] = None,
    ) -> Response:
        principal = await reader(request)
        async with runtime_of(request).transaction(principal) as conn:
            rows = await fetch_all(conn, select_page, {"after": after, "limit": limit})
        items = b",".join(resource.present(row) for row in rows)
        next_after = orjson.dumps(str(rows[-1]["id"]) if len(rows) == limit else None)
        return Response(
            b'{"data":[' + items + b'],"next_after":' + next_after + b"}",
            media_type="application/json",
        )

    async def get_object(request: Request, object_id: uuid.UUID) -> Response:
        principal = await reader(request)
        async with runtime_of(request).transaction(principal) as conn:
            row = await fetch_one(conn, select_one, (object_id,))
        if row is None:
            raise not_found(resource.label)
        return Response(resource.present(row), media_type="application/json")

    async def create_object(request: Request) -> Response:
        principal = await creator(request)
        body = await _read_body(request, Create)

        async def work(conn: RecordTransaction) -> Outcome:
            return await _create(runtime, conn, request, resource, principal, body)

        runtime = runtime_of(request)
        return await run_write(request, runtime, principal, work)

    async def update_object(request: Request, object_id: uuid.UUID) -> Response:
        principal = await updater(request)
        body = await _read_body(request, Update)

        async def work(conn: RecordTransaction) -> Outcome:
            return await _update(runtime, conn, request, resource, principal, object_id, body)

        runtime = runtime_of(request)
        return await run_write(request, runtime, principal, work)

    common: dict[str, Any] = {"tags": tags, "responses": ERROR_RESPONSES}
    router.add_api_route(
        base,
        list_objects,
        methods=["GET"],
        response_model=Page,
        summary=f"List {resource.path}",
        **common,
    )
    if resource.can_create:
        router.add_api_route(
            base,
            create_object,
            methods=["POST"],
            response_model=Read,
            status_code=201,
            summary=f"Create a {resource.label}",
            openapi_extra=body_schema(Create),
            route_class_override=RequestOnlyRoute,
            **common,
        )
    router.add_api_route(
        base + "/{object_id}",
        get_object,
        methods=["GET"],
        response_model=Read,
        summary=f"Get a {resource.label}",
        **common,
    )
    if resource.update_fields:
        router.add_api_route(
            base + "/{object_id}",
            update_object,
            methods=["PATCH"],
            response_model=Read,
            summary=f"Update a {resource.label}",
            openapi_extra=body_schema(Update),
            **common,
        )
    if resource.can_delete:
        router.add_api_route(
            base + "/{object_id}",
            _object_statement(resource, "delete", delete_statement(resource), _deleted),
            name="delete_object",
            methods=["DELETE"],
            response_model=DeletedModel,
            summary=f"Delete a {resource.label}",
            **common,
        )
    for sub_path, column in resource.counters.items():
        increment = increment_statement(resource, column)
        router.add_api_route(
            f"{base}/{{object_id}}/{sub_path}",
            _object_statement(resource, "update", increment, resource.present),
            name="increment",
            methods=["POST"],
            response_model=Read,
            summary=f"Count one more {column.removesuffix('_count')}",
            **common,
        )


def _object_statement(
    resource: Resource, action: str, statement: str, answer: Callable[[dict[str, Any]], bytes]
) -> Callable[[Request, uuid.UUID], Awaitable[Response]]:
    """The endpoint of a write that is `statement` alone on the object `object_id` (a delete, a
    counter), answered with `answer(row)`. Its route is given a `name`: FastAPI makes the
    published operation id of it, not of this function's name."""
    guard = _guard(resource, action)

    async def endpoint(request: Request, object_id: uuid.UUID) -> Response:
        principal = await guard(request)

        async def work(conn: RecordTransaction) -> Outcome:
            params = {**_audit_params(request, principal), "_id": object_id}
            row = await _one_statement(runtime, principal, conn, statement, params)
            if row is None:
                raise not_found(resource.label)
            return Outcome(200, answer(row))

        runtime = runtime_of(request)
        return await run_write(request, runtime, principal, work)

    return endpoint


def _deleted(row: dict[str, Any]) -> bytes:
    return orjson.dumps({"id": str(row["id"]), "deleted": True})


class DeletedModel(ReadModel):
    id: uuid.UUID
    deleted: bool


def add_routes(router: APIRouter, prefix: str, page_max: int) -> None:
    for resource in RESOURCES:
        _routes(router, prefix, resource, page_max)
