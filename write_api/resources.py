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

This module is the catalogue (`RESOURCES`) and its write hooks; `statements` builds their
SQL and `routes` their endpoints.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final, Literal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import TypeAdapter
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from typing_extensions import TypedDict

from core.db import schema
from write_api import secrets_box
from write_api.errors import ApiError, missing_reference
from write_api.models import (
    ReadModel,
    WriteModel,
    create_model_for,
    read_model_for,
    update_model_for,
)
from write_api.runtime import Principal, fetch_one

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
        return create_model_for(model_name(self.path, "Create"), self.table, self.fields)

    @cached_property
    def update_model(self) -> type[WriteModel]:
        return update_model_for(model_name(self.path, "Update"), self.table, self.update_fields)

    @cached_property
    def read_model(self) -> type[ReadModel]:
        return read_model_for(model_name(self.path, ""), self.table)

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


def model_name(path: str, suffix: str) -> str:
    """The name of a resource's model: `leads`, "Create" -> `LeadsCreate`."""
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
        raise missing_reference("document_id", "document_id: no such document")
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
