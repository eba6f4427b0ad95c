"""The operational database as SQLAlchemy Core metadata: the single source of truth.

Schema `public` holds the seed's tables (`shared/seed/000_3c5313efa9827ca2.txt`) with the
seed's names, column order, types, defaults and keys; schema `raw` holds ingestion's batch
ledger and quarantine. Every departure from the seed is listed in `docs/schema.md`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    CHAR,
    TIMESTAMP,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import conv

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

RAW_SCHEMA = "raw"
API_SCHEMA = "api"  # the write API's own tables: keys and idempotency records

HYPERTABLES: tuple[str, ...] = (
    "visitor_tracking",
    "user_behavior_tracking",
    "platform_usage_tracking",
    "audit_logs",
)

SYSTEM_USER_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")
SYSTEM_USER_EMAIL = "pipeline@system.botcriptofy2.invalid"

UUID = postgresql.UUID(as_uuid=True)
JSONB = postgresql.JSONB
INET = postgresql.INET
TIMESTAMPTZ = TIMESTAMP(timezone=True)


def _uuid_pk() -> Column[Any]:
    return Column("id", UUID, primary_key=True, server_default=text("gen_random_uuid()"))


def _ts(name: str, *, nullable: bool = True) -> Column[Any]:
    return Column(name, TIMESTAMPTZ, nullable=nullable)


def _ts_now(name: str) -> Column[Any]:
    return Column(name, TIMESTAMPTZ, server_default=text("now()"))


def _hypertable_created_at() -> Column[Any]:
    # TimescaleDB needs the time column in every unique index, the primary key included.
    return Column(
        "created_at", TIMESTAMPTZ, primary_key=True, nullable=False, server_default=text("now()")
    )


def _jsonb(name: str, default: str | None = None, *, nullable: bool = True) -> Column[Any]:
    server_default = text(f"'{default}'::jsonb") if default is not None else None
    return Column(name, JSONB, nullable=nullable, server_default=server_default)


def _bool(name: str, default: bool) -> Column[Any]:
    return Column(name, Boolean, server_default=text("true" if default else "false"))


def _int(name: str, default: int | None = None, *, nullable: bool = True) -> Column[Any]:
    server_default = text(str(default)) if default is not None else None
    return Column(name, Integer, nullable=nullable, server_default=server_default)


def _fk(name: str, target: str, *, nullable: bool = True, cascade: bool = False) -> Column[Any]:
    return Column(
        name,
        UUID,
        ForeignKey(target, ondelete="CASCADE" if cascade else None),
        nullable=nullable,
    )


def _one_of(column: str, *values: str | int) -> CheckConstraint:
    """The CHECK for an enumeration the seed writes as a comment after the column."""
    listed = ", ".join(str(v) if isinstance(v, int) else f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


def _lineage(*, hypertable: bool = False) -> tuple[Column[Any] | Index, ...]:
    key = ("source_record_id", "created_at") if hypertable else ("source_record_id",)
    return (
        Column("source_record_id", String(255), nullable=True),
        # No foreign key to raw.ingest_batches: keeps COPY fast and lets the API write NULL.
        Column("ingest_batch_id", UUID, nullable=True),
        Index(None, *key, unique=True),
    )


# Authentication (Better-Auth)
users = Table(
    "users",
    metadata,
    _uuid_pk(),
    Column("email", String(255), nullable=False, unique=True),
    _bool("email_verified", False),
    Column("name", String(255)),
    Column("image", String(500)),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    CheckConstraint(
        r"email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$'",
        name=conv("chk_users_email"),
    ),
    Index(conv("idx_users_email"), "email"),
)

accounts = Table(
    "accounts",
    metadata,
    _uuid_pk(),
    _fk("user_id", "users.id", nullable=False, cascade=True),
    Column("account_id", String(255), nullable=False),
    Column("provider_id", String(255), nullable=False),
    Column("access_token", Text),
    Column("refresh_token", Text),
    Column("id_token", Text),
    _ts("access_token_expires_at"),
    _ts("refresh_token_expires_at"),
    Column("scope", Text),
    Column("password", String(255)),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    UniqueConstraint("provider_id", "account_id"),
)

sessions = Table(
    "sessions",
    metadata,
    _uuid_pk(),
    _fk("user_id", "users.id", nullable=False, cascade=True),
    _ts("expires_at", nullable=False),
    Column("token", String(255), nullable=False, unique=True),
    _ts_now("created_at"),
    _ts_now("updated_at"),
)

verification_tokens = Table(
    "verification_tokens",
    metadata,
    Column("identifier", String(255), primary_key=True, nullable=False),
    Column("value", String(255), primary_key=True, nullable=False),
    _ts("expires_at", nullable=False),
    _ts_now("created_at"),
)

# Multi-tenancy
tenants = Table(
    "tenants",
    metadata,
    _uuid_pk(),
    Column("name", String(255), nullable=False),
    Column("slug", String(100), nullable=False, unique=True),
    Column("type", String(20), nullable=False),
    Column("status", String(20), nullable=False, server_default=text("'active'")),
    _jsonb("settings", "{}"),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    CheckConstraint("type IN ('empresa', 'trader', 'influencer')", name=conv("chk_tenants_type")),
    _one_of("status", "active", "suspended", "inactive"),
    Index(conv("idx_tenants_slug"), "slug"),
)

tenant_members = Table(
    "tenant_members",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False, cascade=True),
    _fk("user_id", "users.id", nullable=False, cascade=True),
    Column("role", String(50), nullable=False),
    _jsonb("permissions", "{}"),
    Column("status", String(20), nullable=False, server_default=text("'active'")),
    _ts_now("joined_at"),
    _ts_now("created_at"),
    UniqueConstraint("tenant_id", "user_id"),
)

# Departments
departments = Table(
    "departments",
    metadata,
    _uuid_pk(),
    Column("name", String(100), nullable=False),
    Column("slug", String(50), nullable=False, unique=True),
    Column("description", Text),
    _bool("is_active", True),
    _jsonb("settings", "{}"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
)

department_agents = Table(
    "department_agents",
    metadata,
    _uuid_pk(),
    _fk("department_id", "departments.id", nullable=False, cascade=True),
    Column("agent_name", String(100), nullable=False),
    Column("agent_type", String(50), nullable=False),
    _jsonb("configuration", "{}"),
    _jsonb("capabilities", "[]"),
    _bool("is_active", True),
    _ts("last_activity"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _one_of("agent_type", "mastra", "custom"),
)

# Finance
financial_transactions = Table(
    "financial_transactions",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False),
    _fk("user_id", "users.id", nullable=False),
    Column("transaction_type", String(50), nullable=False),
    Column("amount", Numeric(15, 2), nullable=False),
    Column("currency", String(3), nullable=False, server_default=text("'BRL'")),
    Column("status", String(20), nullable=False),
    Column("payment_method", String(50)),
    Column("stripe_payment_intent_id", String(255)),
    Column("stripe_charge_id", String(255)),
    Column("description", Text),
    _jsonb("metadata", "{}"),
    _ts("processed_at"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    *_lineage(),
    CheckConstraint("amount > 0", name=conv("chk_transactions_amount")),
    _one_of("transaction_type", "payment", "refund", "chargeback", "adjustment"),
    _one_of("status", "pending", "completed", "failed", "cancelled"),
)

billing_subscriptions = Table(
    "billing_subscriptions",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False),
    _fk("user_id", "users.id", nullable=False),
    Column("stripe_subscription_id", String(255), unique=True),
    Column("plan_id", String(100), nullable=False),
    Column("status", String(20), nullable=False),
    _ts("current_period_start", nullable=False),
    _ts("current_period_end", nullable=False),
    _bool("cancel_at_period_end", False),
    _ts("cancelled_at"),
    _ts("trial_start"),
    _ts("trial_end"),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    *_lineage(),
    _one_of("status", "active", "cancelled", "past_due", "unpaid"),
)

financial_reports = Table(
    "financial_reports",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False),
    Column("report_type", String(50), nullable=False),
    _ts("period_start", nullable=False),
    _ts("period_end", nullable=False),
    _jsonb("data", nullable=False),
    _fk("generated_by", "users.id", nullable=False),
    Column("status", String(20), nullable=False, server_default=text("'generating'")),
    _ts_now("created_at"),
    _ts("completed_at"),
    _one_of("report_type", "revenue", "expenses", "profit_loss", "cash_flow"),
    _one_of("status", "generating", "completed", "failed"),
)

# Marketing
referral_campaigns = Table(
    "referral_campaigns",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", Text),
    _bool("is_active", True),
    _ts("start_date", nullable=False),
    _ts("end_date"),
    Column("reward_type", String(50), nullable=False),
    Column("reward_value", Numeric(10, 2), nullable=False),
    _int("max_rewards"),
    _jsonb("rules", "{}"),
    _fk("created_by", "users.id", nullable=False),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _one_of("reward_type", "discount", "credit", "access", "cash"),
)

referral_links = Table(
    "referral_links",
    metadata,
    _uuid_pk(),
    _fk("campaign_id", "referral_campaigns.id", nullable=False, cascade=True),
    _fk("user_id", "users.id", nullable=False),
    Column("referral_code", String(50), nullable=False, unique=True),
    Column("qr_code_url", String(500)),
    _int("click_count", 0),
    _int("conversion_count", 0),
    _bool("is_active", True),
    _ts_now("created_at"),
    _ts_now("updated_at"),
)

gamification_achievements = Table(
    "gamification_achievements",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False),
    Column("name", String(255), nullable=False),
    Column("description", Text),
    Column("icon", String(100)),
    _int("points", 0, nullable=False),
    Column("category", String(50), nullable=False),
    _jsonb("requirements", nullable=False),
    _bool("is_active", True),
    _ts_now("created_at"),
    _ts_now("updated_at"),
)

user_achievements = Table(
    "user_achievements",
    metadata,
    _uuid_pk(),
    _fk("user_id", "users.id", nullable=False),
    _fk("achievement_id", "gamification_achievements.id", nullable=False),
    _fk("tenant_id", "tenants.id", nullable=False),
    _ts_now("earned_at"),
    _jsonb("metadata", "{}"),
    UniqueConstraint("user_id", "achievement_id"),
)

# Sales
leads = Table(
    "leads",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False),
    Column("name", String(255), nullable=False),
    Column("email", String(255), nullable=False),
    Column("phone", String(20)),
    Column("company", String(255)),
    Column("source", String(50), nullable=False),
    Column("status", String(20), nullable=False, server_default=text("'new'")),
    _int("score", 0),
    _fk("assigned_to", "users.id"),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _one_of("source", "organic", "social", "ads", "referral", "direct"),
    _one_of("status", "new", "contacted", "qualified", "converted", "lost"),
    Index(conv("idx_leads_email"), "email"),
)

visitor_tracking = Table(
    "visitor_tracking",
    metadata,
    _uuid_pk(),
    Column("session_id", String(255), nullable=False),
    Column("ip_address", INET, nullable=False),
    _int("ip_version", nullable=False),
    Column("country", String(2)),
    Column("region", String(100)),
    Column("city", String(100)),
    Column("latitude", Numeric(10, 8)),
    Column("longitude", Numeric(11, 8)),
    Column("asn", String(20)),
    Column("isp", String(255)),
    Column("user_agent", Text),
    Column("browser", String(100)),
    Column("browser_version", String(50)),
    Column("os", String(100)),
    Column("os_version", String(50)),
    Column("device_type", String(50)),
    Column("device_brand", String(100)),
    Column("device_model", String(100)),
    Column("screen_resolution", String(20)),
    Column("referrer", String(500)),
    Column("utm_source", String(100)),
    Column("utm_medium", String(100)),
    Column("utm_campaign", String(100)),
    Column("utm_term", String(100)),
    Column("utm_content", String(100)),
    Column("gclid", String(100)),
    Column("fbclid", String(100)),
    Column("page_url", String(500), nullable=False),
    Column("page_title", String(255)),
    _int("visit_duration", 0),
    _jsonb("metadata", "{}"),
    _hypertable_created_at(),
    *_lineage(hypertable=True),
    _one_of("ip_version", 4, 6),
    Index(conv("idx_visitor_tracking_created_at"), "created_at"),
    # visitor_sessions is recomputed per session from these rows after every batch.
    Index(None, "session_id", "created_at"),
)

visitor_sessions = Table(
    "visitor_sessions",
    metadata,
    _uuid_pk(),
    Column("session_id", String(255), nullable=False, unique=True),
    Column("visitor_id", String(255)),
    _ts("first_visit_at", nullable=False),
    _ts("last_visit_at", nullable=False),
    _int("total_visits", 1),
    _int("total_duration", 0),
    _int("pages_visited", 1),
    _int("conversion_events", 0),
    _bool("is_converted", False),
    Column("conversion_value", Numeric(10, 2)),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    *_lineage(),
)

# Security
user_behavior_tracking = Table(
    "user_behavior_tracking",
    metadata,
    _uuid_pk(),
    _fk("user_id", "users.id", nullable=False),
    _fk("tenant_id", "tenants.id", nullable=False),
    Column("action", String(100), nullable=False),
    Column("resource", String(100)),
    Column("resource_id", UUID),
    Column("ip_address", INET),
    Column("user_agent", Text),
    _jsonb("location_data"),
    _jsonb("session_data"),
    _jsonb("metadata", "{}"),
    _hypertable_created_at(),
    *_lineage(hypertable=True),
    Index(conv("idx_user_behavior_tracking_created_at"), "created_at"),
    Index(conv("idx_tenant_user_behavior"), "tenant_id", "user_id", "created_at"),
)

user_behavior_patterns = Table(
    "user_behavior_patterns",
    metadata,
    _uuid_pk(),
    _fk("user_id", "users.id", nullable=False),
    _fk("tenant_id", "tenants.id", nullable=False),
    Column("pattern_type", String(50), nullable=False),
    _jsonb("pattern_data", nullable=False),
    Column("confidence_score", Numeric(3, 2), nullable=False),
    _bool("is_anomaly", False),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _one_of("pattern_type", "login_time", "access_location", "navigation", "transaction"),
)

security_risk_assessments = Table(
    "security_risk_assessments",
    metadata,
    _uuid_pk(),
    _fk("user_id", "users.id", nullable=False),
    _fk("tenant_id", "tenants.id", nullable=False),
    Column("risk_level", String(10), nullable=False),
    _int("risk_score", nullable=False),
    _jsonb("risk_factors", nullable=False),
    _jsonb("mitigation_actions", "[]"),
    _bool("is_active", True),
    _ts_now("assessed_at"),
    _ts("expires_at"),
    _ts_now("created_at"),
    _one_of("risk_level", "green", "yellow", "red"),
)

# Security roles: referenced by the seed (document_permissions.role_id), defined here.
security_roles = Table(
    "security_roles",
    metadata,
    _uuid_pk(),
    # NULL tenant_id: a platform-wide role.
    _fk("tenant_id", "tenants.id", cascade=True),
    Column("name", String(100), nullable=False),
    Column("slug", String(50), nullable=False),
    Column("description", Text),
    _jsonb("permissions", "{}"),
    _bool("is_system", False),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    # NULLS NOT DISTINCT: one platform-wide role per slug too (PostgreSQL 15+).
    UniqueConstraint("tenant_id", "slug", postgresql_nulls_not_distinct=True),
)

# Subscriptions
subscription_plans = Table(
    "subscription_plans",
    metadata,
    _uuid_pk(),
    Column("name", String(100), nullable=False),
    Column("slug", String(50), nullable=False, unique=True),
    Column("description", Text),
    Column("price", Numeric(10, 2), nullable=False),
    Column("currency", String(3), nullable=False, server_default=text("'BRL'")),
    Column("billing_cycle", String(20), nullable=False),
    Column("stripe_price_id", String(255)),
    _jsonb("features", nullable=False),
    _jsonb("limits", nullable=False),
    _bool("is_active", True),
    _int("sort_order", 0),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    CheckConstraint("price >= 0", name=conv("chk_plans_price")),
    _one_of("billing_cycle", "monthly", "quarterly", "yearly"),
)

platform_usage_tracking = Table(
    "platform_usage_tracking",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False),
    _fk("user_id", "users.id", nullable=False),
    Column("resource_type", String(50), nullable=False),
    Column("resource_id", String(255)),
    _int("usage_count", 1, nullable=False),
    Column("usage_value", Numeric(15, 2)),
    _ts("period_start", nullable=False),
    _ts("period_end", nullable=False),
    _jsonb("metadata", "{}"),
    _hypertable_created_at(),
    *_lineage(hypertable=True),
    _one_of("resource_type", "bots", "api_calls", "storage", "bandwidth", "users", "transactions"),
    Index(conv("idx_platform_usage_tracking_created_at"), "created_at"),
    Index(conv("idx_tenant_usage_tracking"), "tenant_id", "resource_type", "created_at"),
)

trading_resource_usage = Table(
    "trading_resource_usage",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False),
    _fk("user_id", "users.id", nullable=False),
    Column("resource_type", String(50), nullable=False),
    _int("usage_duration", nullable=False),
    _int("usage_count", 1, nullable=False),
    Column("cost_per_unit", Numeric(10, 4), nullable=False),
    Column("total_cost", Numeric(10, 2), nullable=False),
    _ts("billing_period_start", nullable=False),
    _ts("billing_period_end", nullable=False),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    *_lineage(),
    _one_of(
        "resource_type",
        "bot_execution",
        "signal_analysis",
        "market_data",
        "backtesting",
        "paper_trading",
    ),
)

trading_commissions = Table(
    "trading_commissions",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False),
    _fk("user_id", "users.id", nullable=False),
    Column("trade_id", String(255), nullable=False),
    Column("asset_type", String(20), nullable=False),
    Column("trade_amount", Numeric(15, 2), nullable=False),
    Column("profit_amount", Numeric(15, 2), nullable=False),
    Column("commission_rate", Numeric(5, 4), nullable=False),
    Column("commission_amount", Numeric(10, 2), nullable=False),
    _ts("trade_date", nullable=False),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    *_lineage(),
    _one_of("asset_type", "crypto", "forex", "stocks", "commodities"),
)

# Notifications
notification_templates = Table(
    "notification_templates",
    metadata,
    _uuid_pk(),
    _fk("department_id", "departments.id", nullable=False),
    Column("template_key", String(100), nullable=False),
    Column("template_name", String(255), nullable=False),
    Column("template_type", String(20), nullable=False),
    Column("subject", String(255)),
    Column("content", Text, nullable=False),
    _jsonb("variables", "[]"),
    Column("priority", String(10), nullable=False, server_default=text("'normal'")),
    Column("category", String(50), nullable=False),
    _bool("is_active", True),
    _fk("created_by", "users.id", nullable=False),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    UniqueConstraint("department_id", "template_key", "template_type"),
    _one_of("template_type", "email", "sms", "push", "in_app", "telegram", "webhook"),
    _one_of("priority", "low", "normal", "high", "urgent"),
)

notification_channels = Table(
    "notification_channels",
    metadata,
    _uuid_pk(),
    Column("channel_name", String(255), nullable=False),
    Column("channel_type", String(20), nullable=False),
    _jsonb("configuration", nullable=False),
    _bool("is_active", True),
    _int("priority_order", 0),
    _int("rate_limit_per_minute", 60),
    _int("rate_limit_per_hour", 1000),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _one_of("channel_type", "email", "sms", "push", "in_app", "telegram", "webhook", "slack"),
)

notifications = Table(
    "notifications",
    metadata,
    _uuid_pk(),
    _fk("user_id", "users.id", nullable=False),
    _fk("department_id", "departments.id", nullable=False),
    _fk("template_id", "notification_templates.id"),
    _fk("channel_id", "notification_channels.id"),
    Column("notification_type", String(20), nullable=False),
    Column("category", String(50), nullable=False),
    Column("priority", String(10), nullable=False, server_default=text("'normal'")),
    Column("subject", String(255)),
    Column("content", Text, nullable=False),
    _jsonb("variables", "{}"),
    Column("status", String(20), nullable=False, server_default=text("'pending'")),
    _ts("scheduled_for"),
    _ts("sent_at"),
    _ts("delivered_at"),
    _ts("read_at"),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _one_of("status", "pending", "sent", "delivered", "failed", "read"),
    Index(conv("idx_user_notifications"), "user_id", "status", "created_at"),
)

user_notification_preferences = Table(
    "user_notification_preferences",
    metadata,
    _uuid_pk(),
    _fk("user_id", "users.id", nullable=False),
    _fk("department_id", "departments.id", nullable=False),
    Column("notification_type", String(20), nullable=False),
    _jsonb("channel_preferences", nullable=False),
    _bool("is_enabled", True),
    Column("quiet_hours_start", Time),
    Column("quiet_hours_end", Time),
    Column("timezone", String(50), server_default=text("'UTC'")),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    UniqueConstraint("user_id", "department_id", "notification_type"),
)

# Customer support (SAC)
support_tickets = Table(
    "support_tickets",
    metadata,
    _uuid_pk(),
    Column("ticket_number", String(20), nullable=False, unique=True),
    _fk("user_id", "users.id", nullable=False),
    _fk("tenant_id", "tenants.id", nullable=False),
    Column("subject", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(50), nullable=False),
    Column("priority", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    _fk("assigned_to", "users.id"),
    Column("tags", postgresql.ARRAY(Text)),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _ts("resolved_at"),
    _one_of("category", "technical", "billing", "account", "feature", "bug"),
    _one_of("priority", "low", "medium", "high", "urgent"),
    _one_of("status", "open", "in_progress", "pending", "resolved", "closed"),
    Index(conv("idx_support_tickets_number"), "ticket_number"),
)

support_messages = Table(
    "support_messages",
    metadata,
    _uuid_pk(),
    _fk("ticket_id", "support_tickets.id", nullable=False, cascade=True),
    _fk("user_id", "users.id", nullable=False),
    Column("message_type", String(20), nullable=False),
    Column("content", Text, nullable=False),
    _bool("is_internal", False),
    _jsonb("attachments", "{}"),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    _one_of("message_type", "user", "agent", "system", "automated"),
)

support_knowledge_base = Table(
    "support_knowledge_base",
    metadata,
    _uuid_pk(),
    Column("title", String(255), nullable=False),
    Column("content", Text, nullable=False),
    Column("category", String(50), nullable=False),
    Column("tags", postgresql.ARRAY(Text)),
    _bool("is_published", False),
    _int("view_count", 0),
    _int("helpful_count", 0),
    _int("not_helpful_count", 0),
    _fk("created_by", "users.id", nullable=False),
    _fk("updated_by", "users.id"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
)

# Audit
audit_logs = Table(
    "audit_logs",
    metadata,
    _uuid_pk(),
    _fk("user_id", "users.id"),
    _fk("tenant_id", "tenants.id"),
    Column("action", String(100), nullable=False),
    Column("resource", String(100), nullable=False),
    Column("resource_id", UUID),
    _jsonb("old_values"),
    _jsonb("new_values"),
    Column("ip_address", INET),
    Column("user_agent", Text),
    Column("session_id", String(255)),
    _jsonb("metadata", "{}"),
    _hypertable_created_at(),
    *_lineage(hypertable=True),
    Index(conv("idx_audit_logs_created_at"), "created_at"),
)

compliance_reports = Table(
    "compliance_reports",
    metadata,
    _uuid_pk(),
    Column("report_type", String(50), nullable=False),
    _ts("period_start", nullable=False),
    _ts("period_end", nullable=False),
    Column("status", String(20), nullable=False),
    _jsonb("data", nullable=False),
    _fk("generated_by", "users.id", nullable=False),
    _ts_now("created_at"),
    _ts("completed_at"),
    _one_of("report_type", "lgpd", "gdpr", "soc2", "iso27001"),
    _one_of("status", "pending", "generating", "completed", "failed"),
)

irregularity_detection = Table(
    "irregularity_detection",
    metadata,
    _uuid_pk(),
    _fk("user_id", "users.id"),
    _fk("tenant_id", "tenants.id"),
    Column("irregularity_type", String(100), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("description", Text, nullable=False),
    _jsonb("evidence", nullable=False),
    Column("status", String(20), nullable=False),
    _fk("assigned_to", "users.id"),
    Column("resolution_notes", Text),
    _ts_now("created_at"),
    _ts("resolved_at"),
    _one_of("irregularity_type", "data_breach", "unauthorized_access", "policy_violation"),
    _one_of("severity", "low", "medium", "high", "critical"),
    _one_of("status", "detected", "investigating", "resolved", "false_positive"),
)

# Documents
documents = Table(
    "documents",
    metadata,
    _uuid_pk(),
    Column("title", String(255), nullable=False),
    Column("description", Text),
    Column("content", Text, nullable=False),
    Column("file_type", String(50), nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("file_path", String(500), nullable=False),
    Column("mime_type", String(100), nullable=False),
    Column("category", String(50), nullable=False),
    Column("tags", postgresql.ARRAY(Text)),
    _bool("is_public", False),
    _bool("is_archived", False),
    _int("version", 1),
    _fk("parent_id", "documents.id"),
    _fk("created_by", "users.id", nullable=False),
    _fk("updated_by", "users.id"),
    _fk("tenant_id", "tenants.id", nullable=False),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _one_of("file_type", "pdf", "doc", "docx", "txt", "html", "markdown"),
    Index(conv("idx_documents_title"), "title"),
)

document_versions = Table(
    "document_versions",
    metadata,
    _uuid_pk(),
    _fk("document_id", "documents.id", nullable=False, cascade=True),
    _int("version_number", nullable=False),
    Column("title", String(255), nullable=False),
    Column("content", Text, nullable=False),
    Column("file_path", String(500), nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("change_summary", Text),
    _fk("created_by", "users.id", nullable=False),
    _ts_now("created_at"),
)

document_permissions = Table(
    "document_permissions",
    metadata,
    _uuid_pk(),
    _fk("document_id", "documents.id", nullable=False, cascade=True),
    _fk("user_id", "users.id"),
    _fk("role_id", "security_roles.id"),
    Column("permission_type", String(20), nullable=False),
    _fk("granted_by", "users.id", nullable=False),
    _ts_now("granted_at"),
    _ts("expires_at"),
    _one_of("permission_type", "read", "write", "delete", "share"),
)

# Configuration
system_configurations = Table(
    "system_configurations",
    metadata,
    _uuid_pk(),
    Column("key", String(255), nullable=False, unique=True),
    Column("value", Text, nullable=False),
    Column("data_type", String(20), nullable=False),
    Column("category", String(50), nullable=False),
    Column("description", Text),
    _bool("is_encrypted", False),
    _bool("is_sensitive", False),
    _bool("is_readonly", False),
    _jsonb("validation_rules", "{}"),
    _fk("created_by", "users.id", nullable=False),
    _fk("updated_by", "users.id"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _one_of("data_type", "string", "number", "boolean", "json", "array"),
    _one_of("category", "general", "security", "performance", "integration"),
)

department_configurations = Table(
    "department_configurations",
    metadata,
    _uuid_pk(),
    _fk("department_id", "departments.id", nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),
    Column("data_type", String(20), nullable=False),
    Column("description", Text),
    _bool("is_encrypted", False),
    _bool("is_sensitive", False),
    _jsonb("validation_rules", "{}"),
    _fk("created_by", "users.id", nullable=False),
    _fk("updated_by", "users.id"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    UniqueConstraint("department_id", "key"),
)

tenant_configurations = Table(
    "tenant_configurations",
    metadata,
    _uuid_pk(),
    _fk("tenant_id", "tenants.id", nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),
    Column("data_type", String(20), nullable=False),
    Column("description", Text),
    _bool("is_encrypted", False),
    _bool("is_sensitive", False),
    _jsonb("validation_rules", "{}"),
    _fk("created_by", "users.id", nullable=False),
    _fk("updated_by", "users.id"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    UniqueConstraint("tenant_id", "key"),
)

# CEO
ceo_dashboard_metrics = Table(
    "ceo_dashboard_metrics",
    metadata,
    _uuid_pk(),
    Column("metric_name", String(100), nullable=False),
    Column("metric_value", Numeric(15, 2), nullable=False),
    Column("metric_type", String(50), nullable=False),
    _ts("period_start", nullable=False),
    _ts("period_end", nullable=False),
    _fk("department_id", "departments.id"),
    _fk("tenant_id", "tenants.id"),
    _jsonb("metadata", "{}"),
    _ts_now("created_at"),
    _one_of("metric_type", "revenue", "users", "performance", "growth"),
)

ceo_strategic_analysis = Table(
    "ceo_strategic_analysis",
    metadata,
    _uuid_pk(),
    Column("analysis_type", String(50), nullable=False),
    Column("title", String(255), nullable=False),
    Column("summary", Text, nullable=False),
    Column("detailed_analysis", Text, nullable=False),
    Column("recommendations", Text, nullable=False),
    Column("priority", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    _fk("assigned_to", "users.id"),
    _ts("due_date"),
    _fk("created_by", "users.id", nullable=False),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _one_of("analysis_type", "market", "competition", "performance", "risk"),
    _one_of("priority", "low", "medium", "high", "critical"),
    _one_of("status", "pending", "in_progress", "completed", "archived"),
)

ceo_decisions = Table(
    "ceo_decisions",
    metadata,
    _uuid_pk(),
    Column("decision_type", String(50), nullable=False),
    Column("title", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column("context", Text, nullable=False),
    _jsonb("options", nullable=False),
    Column("chosen_option", String(255), nullable=False),
    Column("rationale", Text, nullable=False),
    Column("impact_assessment", Text),
    Column("implementation_plan", Text),
    Column("status", String(20), nullable=False),
    Column("priority", String(20), nullable=False),
    _fk("created_by", "users.id", nullable=False),
    _fk("approved_by", "users.id"),
    _ts_now("created_at"),
    _ts_now("updated_at"),
    _one_of("decision_type", "strategic", "operational", "financial", "personnel"),
    _one_of("status", "pending", "approved", "implemented", "cancelled"),
    _one_of("priority", "low", "medium", "high", "critical"),
)

# Ingestion ledger and quarantine (schema raw)
ingest_batches = Table(
    "ingest_batches",
    metadata,
    _uuid_pk(),
    Column("source", String(50), nullable=False),
    Column("source_file", Text),
    Column("content_sha256", CHAR(64)),
    Column("status", String(20), nullable=False, server_default=text("'running'")),
    _int("rows_in", 0, nullable=False),
    _int("rows_loaded", 0, nullable=False),
    _int("rows_quarantined", 0, nullable=False),
    _int("rows_duplicate", 0, nullable=False),
    _ts("min_event_at"),
    _ts("max_event_at"),
    Column("error", Text),
    Column("started_at", TIMESTAMPTZ, nullable=False, server_default=text("now()")),
    _ts("finished_at"),
    _one_of("status", "running", "completed", "failed"),
    CheckConstraint("rows_in >= 0", name="rows_in"),
    CheckConstraint("rows_loaded >= 0", name="rows_loaded"),
    CheckConstraint("rows_quarantined >= 0", name="rows_quarantined"),
    CheckConstraint("rows_duplicate >= 0", name="rows_duplicate"),
    CheckConstraint(
        "status <> 'completed' OR rows_in = rows_loaded + rows_quarantined + rows_duplicate",
        name="rows_balance",
    ),
    # The same file completes once; failed attempts may be retried.
    Index(
        conv("uq_ingest_batches_completed_file"),
        "source",
        "content_sha256",
        unique=True,
        postgresql_where=text("status = 'completed'"),
    ),
    schema=RAW_SCHEMA,
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column(
        "batch_id",
        UUID,
        ForeignKey(f"{RAW_SCHEMA}.ingest_batches.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("source", String(50), nullable=False),
    Column("source_file", Text),
    _int("record_number"),
    Column("raw_record", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("quarantined_at", TIMESTAMPTZ, nullable=False, server_default=text("now()")),
    Index(None, "batch_id"),
    schema=RAW_SCHEMA,
)

# Landed source data without a seed table: the payment provider's events as sent, the
# subscription history flattened from them (for MRR over time), FX rates and expenses.
stripe_events = Table(
    "stripe_events",
    metadata,
    Column("id", String(255), primary_key=True),  # Stripe's event id, evt_...
    Column("type", String(100), nullable=False),
    Column("created_at", TIMESTAMPTZ, nullable=False),  # the event's `created`
    Column("api_version", String(50)),
    Column("livemode", Boolean, nullable=False, server_default=text("false")),
    Column("object_type", String(50), nullable=False),
    Column("object_id", String(255), nullable=False),
    Column("tenant_id", UUID),
    Column("user_id", UUID),
    _jsonb("payload", nullable=False),
    Column("ingest_batch_id", UUID),
    Column("ingested_at", TIMESTAMPTZ, nullable=False, server_default=text("now()")),
    Index(None, "type", "created_at"),
    Index(None, "object_id"),
    schema=RAW_SCHEMA,
)

subscription_events = Table(
    "subscription_events",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("subscription_id", String(255), nullable=False),  # Stripe's sub_...
    Column("event_type", String(100), nullable=False),
    Column("event_created_at", TIMESTAMPTZ, nullable=False),
    Column("tenant_id", UUID, nullable=False),
    Column("user_id", UUID),
    # Stripe's statuses, a superset of billing_subscriptions.status.
    Column("status", String(30), nullable=False),
    Column("plan_slug", String(50)),
    Column("stripe_price_id", String(255)),
    Column("unit_amount", Numeric(15, 2)),  # price per unit in major units of `currency`
    Column("currency", CHAR(3)),
    Column("billing_cycle", String(20)),  # monthly, quarterly, yearly
    _int("quantity", 1, nullable=False),
    _ts("current_period_start"),
    _ts("current_period_end"),
    Column("cancel_at_period_end", Boolean, nullable=False, server_default=text("false")),
    _ts("canceled_at"),
    _ts("ended_at"),
    _ts("trial_start"),
    _ts("trial_end"),
    Column("ingest_batch_id", UUID),
    _one_of("billing_cycle", "monthly", "quarterly", "yearly"),
    CheckConstraint("quantity > 0", name="quantity"),
    Index(None, "subscription_id", "event_created_at"),
    schema=RAW_SCHEMA,
)

fx_rates = Table(
    "fx_rates",
    metadata,
    Column("rate_date", Date, primary_key=True),
    Column("currency", CHAR(3), primary_key=True),
    # Units of the reporting currency for one unit of `currency` on `rate_date`.
    Column("rate", Numeric(18, 8), nullable=False),
    Column("ingest_batch_id", UUID),
    Column("ingested_at", TIMESTAMPTZ, nullable=False, server_default=text("now()")),
    CheckConstraint("rate > 0", name="rate"),
    schema=RAW_SCHEMA,
)

expenses = Table(
    "expenses",
    metadata,
    _uuid_pk(),
    Column("source_record_id", String(255), nullable=False, unique=True),
    Column("expense_date", Date, nullable=False),
    Column("category", String(50), nullable=False),
    Column("vendor", String(255), nullable=False),
    Column("amount", Numeric(15, 2), nullable=False),
    Column("currency", CHAR(3), nullable=False),
    Column("description", Text),
    Column("ingest_batch_id", UUID),
    Column("ingested_at", TIMESTAMPTZ, nullable=False, server_default=text("now()")),
    CheckConstraint("amount > 0", name="amount"),
    schema=RAW_SCHEMA,
)

# The write API's keys (schema api): a tenant's key, or a platform key (tenant_id NULL).
# Only a SHA-256 of the secret is stored; `prefix` finds the row and is shown in listings.
api_keys = Table(
    "api_keys",
    metadata,
    _uuid_pk(),
    Column("prefix", String(32), nullable=False, unique=True),
    Column("secret_sha256", CHAR(64), nullable=False),
    Column("name", String(255), nullable=False),
    _fk("tenant_id", "tenants.id", cascade=True),
    Column("scopes", postgresql.ARRAY(Text), nullable=False),
    Column("created_at", TIMESTAMPTZ, nullable=False, server_default=text("now()")),
    _ts("revoked_at"),
    CheckConstraint(
        "scopes <@ ARRAY['read', 'write', 'track']::text[] AND cardinality(scopes) > 0",
        name="scopes",
    ),
    schema=API_SCHEMA,
)

# Idempotency-Key records when Redis is down (Redis holds them otherwise), 24 h each.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column(
        "api_key_id",
        UUID,
        ForeignKey(f"{API_SCHEMA}.api_keys.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("idempotency_key", String(255), primary_key=True),
    Column("request_sha256", CHAR(64), nullable=False),
    _int("response_status"),
    Column("response_body", Text),
    Column("created_at", TIMESTAMPTZ, nullable=False, server_default=text("now()")),
    Column("expires_at", TIMESTAMPTZ, nullable=False),
    # A one-statement create's row as JSON, rendered into the answer (else response_body).
    _jsonb("response_row"),
    Index(None, "expires_at"),
    schema=API_SCHEMA,
)

TENANT_SCOPED_TABLES: tuple[str, ...] = tuple(
    table.name
    for table in metadata.tables.values()
    if table.schema is None and "tenant_id" in table.c
)

TENANT_SCOPED_VIA_PARENT: dict[str, tuple[str, str, str]] = {
    "referral_links": ("campaign_id", "referral_campaigns", "id"),
    "support_messages": ("ticket_id", "support_tickets", "id"),
    "document_versions": ("document_id", "documents", "id"),
    "document_permissions": ("document_id", "documents", "id"),
}
