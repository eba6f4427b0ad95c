"""Operational schema: the seed's 44 tables, security_roles, and the raw ingest ledger

Generated from core/db/schema.py by autogenerate and reviewed. Departures from the seed
(timestamptz, hypertable keys, lineage columns, enumeration CHECKs) are in docs/schema.md.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS raw")
    op.create_table(
        "departments",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("slug", name=op.f("uq_departments_slug")),
    )
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("channel_name", sa.String(length=255), nullable=False),
        sa.Column("channel_type", sa.String(length=20), nullable=False),
        sa.Column("configuration", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column("priority_order", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column(
            "rate_limit_per_minute", sa.Integer(), server_default=sa.text("60"), nullable=True
        ),
        sa.Column(
            "rate_limit_per_hour", sa.Integer(), server_default=sa.text("1000"), nullable=True
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "channel_type IN ('email', 'sms', 'push', 'in_app', 'telegram', 'webhook', 'slack')",
            name=op.f("ck_notification_channels_channel_type"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
    )
    op.create_table(
        "ingest_batches",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("content_sha256", sa.CHAR(length=64), nullable=True),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'running'"), nullable=False
        ),
        sa.Column("rows_in", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows_quarantined", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("rows_duplicate", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("min_event_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("max_event_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "started_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status <> 'completed' OR rows_in = rows_loaded + rows_quarantined + rows_duplicate",
            name=op.f("ck_ingest_batches_rows_balance"),
        ),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed')", name=op.f("ck_ingest_batches_status")
        ),
        sa.CheckConstraint("rows_duplicate >= 0", name=op.f("ck_ingest_batches_rows_duplicate")),
        sa.CheckConstraint("rows_in >= 0", name=op.f("ck_ingest_batches_rows_in")),
        sa.CheckConstraint("rows_loaded >= 0", name=op.f("ck_ingest_batches_rows_loaded")),
        sa.CheckConstraint(
            "rows_quarantined >= 0", name=op.f("ck_ingest_batches_rows_quarantined")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_batches")),
        schema="raw",
    )
    op.create_index(
        op.f("uq_ingest_batches_completed_file"),
        "ingest_batches",
        ["source", "content_sha256"],
        unique=True,
        schema="raw",
        postgresql_where=sa.text("status = 'completed'"),
    )
    op.create_table(
        "subscription_plans",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default=sa.text("'BRL'"), nullable=False),
        sa.Column("billing_cycle", sa.String(length=20), nullable=False),
        sa.Column("stripe_price_id", sa.String(length=255), nullable=True),
        sa.Column("features", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("limits", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column("sort_order", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "billing_cycle IN ('monthly', 'quarterly', 'yearly')",
            name=op.f("ck_subscription_plans_billing_cycle"),
        ),
        sa.CheckConstraint("price >= 0", name=op.f("chk_plans_price")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_plans")),
        sa.UniqueConstraint("slug", name=op.f("uq_subscription_plans_slug")),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'active'"), nullable=False
        ),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "status IN ('active', 'suspended', 'inactive')", name=op.f("ck_tenants_status")
        ),
        sa.CheckConstraint(
            "type IN ('empresa', 'trader', 'influencer')", name=op.f("chk_tenants_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_index(op.f("idx_tenants_slug"), "tenants", ["slug"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("email_verified", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("image", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$'",
            name=op.f("chk_users_email"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index(op.f("idx_users_email"), "users", ["email"], unique=False)
    op.create_table(
        "verification_tokens",
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("identifier", "value", name=op.f("pk_verification_tokens")),
    )
    op.create_table(
        "visitor_sessions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("visitor_id", sa.String(length=255), nullable=True),
        sa.Column("first_visit_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("last_visit_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("total_visits", sa.Integer(), server_default=sa.text("1"), nullable=True),
        sa.Column("total_duration", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("pages_visited", sa.Integer(), server_default=sa.text("1"), nullable=True),
        sa.Column("conversion_events", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("is_converted", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("conversion_value", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("source_record_id", sa.String(length=255), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitor_sessions")),
        sa.UniqueConstraint("session_id", name=op.f("uq_visitor_sessions_session_id")),
    )
    op.create_index(
        op.f("ix_visitor_sessions_source_record_id"),
        "visitor_sessions",
        ["source_record_id"],
        unique=True,
    )
    op.create_table(
        "visitor_tracking",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("session_id", sa.String(length=255), nullable=False),
        sa.Column("ip_address", postgresql.INET(), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("latitude", sa.Numeric(precision=10, scale=8), nullable=True),
        sa.Column("longitude", sa.Numeric(precision=11, scale=8), nullable=True),
        sa.Column("asn", sa.String(length=20), nullable=True),
        sa.Column("isp", sa.String(length=255), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("browser", sa.String(length=100), nullable=True),
        sa.Column("browser_version", sa.String(length=50), nullable=True),
        sa.Column("os", sa.String(length=100), nullable=True),
        sa.Column("os_version", sa.String(length=50), nullable=True),
        sa.Column("device_type", sa.String(length=50), nullable=True),
        sa.Column("device_brand", sa.String(length=100), nullable=True),
        sa.Column("device_model", sa.String(length=100), nullable=True),
        sa.Column("screen_resolution", sa.String(length=20), nullable=True),
        sa.Column("referrer", sa.String(length=500), nullable=True),
        sa.Column("utm_source", sa.String(length=100), nullable=True),
        sa.Column("utm_medium", sa.String(length=100), nullable=True),
        sa.Column("utm_campaign", sa.String(length=100), nullable=True),
        sa.Column("utm_term", sa.String(length=100), nullable=True),
        sa.Column("utm_content", sa.String(length=100), nullable=True),
        sa.Column("gclid", sa.String(length=100), nullable=True),
        sa.Column("fbclid", sa.String(length=100), nullable=True),
        sa.Column("page_url", sa.String(length=500), nullable=False),
        sa.Column("page_title", sa.String(length=255), nullable=True),
        sa.Column("visit_duration", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source_record_id", sa.String(length=255), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.CheckConstraint("ip_version IN (4, 6)", name=op.f("ck_visitor_tracking_ip_version")),
        sa.PrimaryKeyConstraint("id", "created_at", name=op.f("pk_visitor_tracking")),
    )
    op.create_index(
        op.f("idx_visitor_tracking_created_at"), "visitor_tracking", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_visitor_tracking_source_record_id"),
        "visitor_tracking",
        ["source_record_id", "created_at"],
        unique=True,
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.Column("access_token_expires_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("refresh_token_expires_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("password", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_accounts_user_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint(
            "provider_id", "account_id", name=op.f("uq_accounts_provider_id_account_id")
        ),
    )
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("resource", sa.String(length=100), nullable=False),
        sa.Column("resource_id", sa.UUID(), nullable=True),
        sa.Column("old_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source_record_id", sa.String(length=255), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_audit_logs_tenant_id")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_audit_logs_user_id")),
        sa.PrimaryKeyConstraint("id", "created_at", name=op.f("pk_audit_logs")),
    )
    op.create_index(op.f("idx_audit_logs_created_at"), "audit_logs", ["created_at"], unique=False)
    op.create_index(
        op.f("ix_audit_logs_source_record_id"),
        "audit_logs",
        ["source_record_id", "created_at"],
        unique=True,
    )
    op.create_table(
        "billing_subscriptions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("stripe_subscription_id", sa.String(length=255), nullable=True),
        sa.Column("plan_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("current_period_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column(
            "cancel_at_period_end", sa.Boolean(), server_default=sa.text("false"), nullable=True
        ),
        sa.Column("cancelled_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("trial_start", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("trial_end", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("source_record_id", sa.String(length=255), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'cancelled', 'past_due', 'unpaid')",
            name=op.f("ck_billing_subscriptions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_billing_subscriptions_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_billing_subscriptions_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_subscriptions")),
        sa.UniqueConstraint(
            "stripe_subscription_id", name=op.f("uq_billing_subscriptions_stripe_subscription_id")
        ),
    )
    op.create_index(
        op.f("ix_billing_subscriptions_source_record_id"),
        "billing_subscriptions",
        ["source_record_id"],
        unique=True,
    )
    op.create_table(
        "ceo_dashboard_metrics",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("metric_name", sa.String(length=100), nullable=False),
        sa.Column("metric_value", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("metric_type", sa.String(length=50), nullable=False),
        sa.Column("period_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("period_end", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("department_id", sa.UUID(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "metric_type IN ('revenue', 'users', 'performance', 'growth')",
            name=op.f("ck_ceo_dashboard_metrics_metric_type"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_ceo_dashboard_metrics_department_id"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ceo_dashboard_metrics_tenant_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ceo_dashboard_metrics")),
    )
    op.create_table(
        "ceo_decisions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("decision_type", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("chosen_option", sa.String(length=255), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("impact_assessment", sa.Text(), nullable=True),
        sa.Column("implementation_plan", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("approved_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "decision_type IN ('strategic', 'operational', 'financial', 'personnel')",
            name=op.f("ck_ceo_decisions_decision_type"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'critical')",
            name=op.f("ck_ceo_decisions_priority"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'implemented', 'cancelled')",
            name=op.f("ck_ceo_decisions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["users.id"], name=op.f("fk_ceo_decisions_approved_by")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_ceo_decisions_created_by")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ceo_decisions")),
    )
    op.create_table(
        "ceo_strategic_analysis",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("analysis_type", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("detailed_analysis", sa.Text(), nullable=False),
        sa.Column("recommendations", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assigned_to", sa.UUID(), nullable=True),
        sa.Column("due_date", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "analysis_type IN ('market', 'competition', 'performance', 'risk')",
            name=op.f("ck_ceo_strategic_analysis_analysis_type"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'critical')",
            name=op.f("ck_ceo_strategic_analysis_priority"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'in_progress', 'completed', 'archived')",
            name=op.f("ck_ceo_strategic_analysis_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to"], ["users.id"], name=op.f("fk_ceo_strategic_analysis_assigned_to")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_ceo_strategic_analysis_created_by")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ceo_strategic_analysis")),
    )
    op.create_table(
        "compliance_reports",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("report_type", sa.String(length=50), nullable=False),
        sa.Column("period_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("period_end", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("generated_by", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("completed_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint(
            "report_type IN ('lgpd', 'gdpr', 'soc2', 'iso27001')",
            name=op.f("ck_compliance_reports_report_type"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'generating', 'completed', 'failed')",
            name=op.f("ck_compliance_reports_status"),
        ),
        sa.ForeignKeyConstraint(
            ["generated_by"], ["users.id"], name=op.f("fk_compliance_reports_generated_by")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_reports")),
    )
    op.create_table(
        "department_agents",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("department_id", sa.UUID(), nullable=False),
        sa.Column("agent_name", sa.String(length=100), nullable=False),
        sa.Column("agent_type", sa.String(length=50), nullable=False),
        sa.Column(
            "configuration",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "capabilities",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=True,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column("last_activity", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "agent_type IN ('mastra', 'custom')", name=op.f("ck_department_agents_agent_type")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_department_agents_department_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department_agents")),
    )
    op.create_table(
        "department_configurations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("department_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("data_type", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_encrypted", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("is_sensitive", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column(
            "validation_rules",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_department_configurations_created_by")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_department_configurations_department_id"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_department_configurations_updated_by")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department_configurations")),
        sa.UniqueConstraint(
            "department_id", "key", name=op.f("uq_department_configurations_department_id_key")
        ),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("file_type", sa.String(length=50), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("file_path", sa.String(length=500), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("is_public", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("is_archived", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=True),
        sa.Column("parent_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "file_type IN ('pdf', 'doc', 'docx', 'txt', 'html', 'markdown')",
            name=op.f("ck_documents_file_type"),
        ),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_documents_created_by")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["documents.id"], name=op.f("fk_documents_parent_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_documents_tenant_id")),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_documents_updated_by")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(op.f("idx_documents_title"), "documents", ["title"], unique=False)
    op.create_table(
        "financial_reports",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("report_type", sa.String(length=50), nullable=False),
        sa.Column("period_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("period_end", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("generated_by", sa.UUID(), nullable=False),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'generating'"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("completed_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint(
            "report_type IN ('revenue', 'expenses', 'profit_loss', 'cash_flow')",
            name=op.f("ck_financial_reports_report_type"),
        ),
        sa.CheckConstraint(
            "status IN ('generating', 'completed', 'failed')",
            name=op.f("ck_financial_reports_status"),
        ),
        sa.ForeignKeyConstraint(
            ["generated_by"], ["users.id"], name=op.f("fk_financial_reports_generated_by")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_financial_reports_tenant_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financial_reports")),
    )
    op.create_table(
        "financial_transactions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("transaction_type", sa.String(length=50), nullable=False),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default=sa.text("'BRL'"), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payment_method", sa.String(length=50), nullable=True),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_charge_id", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column("processed_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("source_record_id", sa.String(length=255), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'completed', 'failed', 'cancelled')",
            name=op.f("ck_financial_transactions_status"),
        ),
        sa.CheckConstraint(
            "transaction_type IN ('payment', 'refund', 'chargeback', 'adjustment')",
            name=op.f("ck_financial_transactions_transaction_type"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("chk_transactions_amount")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_financial_transactions_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_financial_transactions_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financial_transactions")),
    )
    op.create_index(
        op.f("ix_financial_transactions_source_record_id"),
        "financial_transactions",
        ["source_record_id"],
        unique=True,
    )
    op.create_table(
        "gamification_achievements",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("icon", sa.String(length=100), nullable=True),
        sa.Column("points", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("requirements", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_gamification_achievements_tenant_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gamification_achievements")),
    )
    op.create_table(
        "irregularity_detection",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=True),
        sa.Column("irregularity_type", sa.String(length=100), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assigned_to", sa.UUID(), nullable=True),
        sa.Column("resolution_notes", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("resolved_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint(
            "irregularity_type IN ('data_breach', 'unauthorized_access', 'policy_violation')",
            name=op.f("ck_irregularity_detection_irregularity_type"),
        ),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high', 'critical')",
            name=op.f("ck_irregularity_detection_severity"),
        ),
        sa.CheckConstraint(
            "status IN ('detected', 'investigating', 'resolved', 'false_positive')",
            name=op.f("ck_irregularity_detection_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to"], ["users.id"], name=op.f("fk_irregularity_detection_assigned_to")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_irregularity_detection_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_irregularity_detection_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_irregularity_detection")),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("company", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), server_default=sa.text("'new'"), nullable=False),
        sa.Column("score", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("assigned_to", sa.UUID(), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "source IN ('organic', 'social', 'ads', 'referral', 'direct')",
            name=op.f("ck_leads_source"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'contacted', 'qualified', 'converted', 'lost')",
            name=op.f("ck_leads_status"),
        ),
        sa.ForeignKeyConstraint(["assigned_to"], ["users.id"], name=op.f("fk_leads_assigned_to")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_leads_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    op.create_index(op.f("idx_leads_email"), "leads", ["email"], unique=False)
    op.create_table(
        "notification_templates",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("department_id", sa.UUID(), nullable=False),
        sa.Column("template_key", sa.String(length=100), nullable=False),
        sa.Column("template_name", sa.String(length=255), nullable=False),
        sa.Column("template_type", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "variables",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "priority", sa.String(length=10), server_default=sa.text("'normal'"), nullable=False
        ),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')",
            name=op.f("ck_notification_templates_priority"),
        ),
        sa.CheckConstraint(
            "template_type IN ('email', 'sms', 'push', 'in_app', 'telegram', 'webhook')",
            name=op.f("ck_notification_templates_template_type"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_notification_templates_created_by")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_notification_templates_department_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_templates")),
        sa.UniqueConstraint(
            "department_id",
            "template_key",
            "template_type",
            name=op.f("uq_notification_templates_department_id_template_key_template_type"),
        ),
    )
    op.create_table(
        "platform_usage_tracking",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("resource_type", sa.String(length=50), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=True),
        sa.Column("usage_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("usage_value", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("period_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("period_end", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source_record_id", sa.String(length=255), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "resource_type IN ('bots', 'api_calls', 'storage', 'bandwidth', 'users', 'transactions')",
            name=op.f("ck_platform_usage_tracking_resource_type"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_platform_usage_tracking_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_platform_usage_tracking_user_id")
        ),
        sa.PrimaryKeyConstraint("id", "created_at", name=op.f("pk_platform_usage_tracking")),
    )
    op.create_index(
        op.f("idx_platform_usage_tracking_created_at"),
        "platform_usage_tracking",
        ["created_at"],
        unique=False,
    )
    op.create_index(
        op.f("idx_tenant_usage_tracking"),
        "platform_usage_tracking",
        ["tenant_id", "resource_type", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_platform_usage_tracking_source_record_id"),
        "platform_usage_tracking",
        ["source_record_id", "created_at"],
        unique=True,
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("record_number", sa.Integer(), nullable=True),
        sa.Column("raw_record", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "quarantined_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["raw.ingest_batches.id"],
            name=op.f("fk_quarantine_batch_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        schema="raw",
    )
    op.create_index(
        op.f("ix_raw_quarantine_batch_id"), "quarantine", ["batch_id"], unique=False, schema="raw"
    )
    op.create_table(
        "referral_campaigns",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column("start_date", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("end_date", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("reward_type", sa.String(length=50), nullable=False),
        sa.Column("reward_value", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("max_rewards", sa.Integer(), nullable=True),
        sa.Column(
            "rules",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "reward_type IN ('discount', 'credit', 'access', 'cash')",
            name=op.f("ck_referral_campaigns_reward_type"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_referral_campaigns_created_by")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_referral_campaigns_tenant_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_campaigns")),
    )
    op.create_table(
        "security_risk_assessments",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("risk_level", sa.String(length=10), nullable=False),
        sa.Column("risk_score", sa.Integer(), nullable=False),
        sa.Column("risk_factors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "mitigation_actions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=True,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column(
            "assessed_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "risk_level IN ('green', 'yellow', 'red')",
            name=op.f("ck_security_risk_assessments_risk_level"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_security_risk_assessments_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_security_risk_assessments_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_risk_assessments")),
    )
    op.create_table(
        "security_roles",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=50), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "permissions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column("is_system", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_security_roles_tenant_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_roles")),
        sa.UniqueConstraint(
            "tenant_id",
            "slug",
            name=op.f("uq_security_roles_tenant_id_slug"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("token", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token", name=op.f("uq_sessions_token")),
    )
    op.create_table(
        "support_knowledge_base",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("is_published", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("view_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("helpful_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("not_helpful_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_support_knowledge_base_created_by")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_support_knowledge_base_updated_by")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_knowledge_base")),
    )
    op.create_table(
        "support_tickets",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("ticket_number", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("assigned_to", sa.UUID(), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("resolved_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint(
            "category IN ('technical', 'billing', 'account', 'feature', 'bug')",
            name=op.f("ck_support_tickets_category"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'urgent')",
            name=op.f("ck_support_tickets_priority"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'pending', 'resolved', 'closed')",
            name=op.f("ck_support_tickets_status"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to"], ["users.id"], name=op.f("fk_support_tickets_assigned_to")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_support_tickets_tenant_id")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_support_tickets_user_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_tickets")),
        sa.UniqueConstraint("ticket_number", name=op.f("uq_support_tickets_ticket_number")),
    )
    op.create_index(
        op.f("idx_support_tickets_number"), "support_tickets", ["ticket_number"], unique=False
    )
    op.create_table(
        "system_configurations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("data_type", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_encrypted", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("is_sensitive", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("is_readonly", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column(
            "validation_rules",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "category IN ('general', 'security', 'performance', 'integration')",
            name=op.f("ck_system_configurations_category"),
        ),
        sa.CheckConstraint(
            "data_type IN ('string', 'number', 'boolean', 'json', 'array')",
            name=op.f("ck_system_configurations_data_type"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_system_configurations_created_by")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_system_configurations_updated_by")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_configurations")),
        sa.UniqueConstraint("key", name=op.f("uq_system_configurations_key")),
    )
    op.create_table(
        "tenant_configurations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("data_type", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_encrypted", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column("is_sensitive", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column(
            "validation_rules",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_tenant_configurations_created_by")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_configurations_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_tenant_configurations_updated_by")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_configurations")),
        sa.UniqueConstraint(
            "tenant_id", "key", name=op.f("uq_tenant_configurations_tenant_id_key")
        ),
    )
    op.create_table(
        "tenant_members",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.String(length=50), nullable=False),
        sa.Column(
            "permissions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'active'"), nullable=False
        ),
        sa.Column(
            "joined_at", sa.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=True
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_members_tenant_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tenant_members_user_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_members")),
        sa.UniqueConstraint(
            "tenant_id", "user_id", name=op.f("uq_tenant_members_tenant_id_user_id")
        ),
    )
    op.create_table(
        "trading_commissions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("trade_id", sa.String(length=255), nullable=False),
        sa.Column("asset_type", sa.String(length=20), nullable=False),
        sa.Column("trade_amount", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("profit_amount", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("commission_rate", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("commission_amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("trade_date", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("source_record_id", sa.String(length=255), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "asset_type IN ('crypto', 'forex', 'stocks', 'commodities')",
            name=op.f("ck_trading_commissions_asset_type"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_trading_commissions_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trading_commissions_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_commissions")),
    )
    op.create_index(
        op.f("ix_trading_commissions_source_record_id"),
        "trading_commissions",
        ["source_record_id"],
        unique=True,
    )
    op.create_table(
        "trading_resource_usage",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("resource_type", sa.String(length=50), nullable=False),
        sa.Column("usage_duration", sa.Integer(), nullable=False),
        sa.Column("usage_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("cost_per_unit", sa.Numeric(precision=10, scale=4), nullable=False),
        sa.Column("total_cost", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("billing_period_start", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("billing_period_end", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("source_record_id", sa.String(length=255), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "resource_type IN ('bot_execution', 'signal_analysis', 'market_data', 'backtesting', 'paper_trading')",
            name=op.f("ck_trading_resource_usage_resource_type"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_trading_resource_usage_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trading_resource_usage_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_resource_usage")),
    )
    op.create_index(
        op.f("ix_trading_resource_usage_source_record_id"),
        "trading_resource_usage",
        ["source_record_id"],
        unique=True,
    )
    op.create_table(
        "user_behavior_patterns",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("pattern_type", sa.String(length=50), nullable=False),
        sa.Column("pattern_data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("confidence_score", sa.Numeric(precision=3, scale=2), nullable=False),
        sa.Column("is_anomaly", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "pattern_type IN ('login_time', 'access_location', 'navigation', 'transaction')",
            name=op.f("ck_user_behavior_patterns_pattern_type"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_user_behavior_patterns_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_behavior_patterns_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_behavior_patterns")),
    )
    op.create_table(
        "user_behavior_tracking",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("resource", sa.String(length=100), nullable=True),
        sa.Column("resource_id", sa.UUID(), nullable=True),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("location_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("session_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("source_record_id", sa.String(length=255), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_user_behavior_tracking_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_behavior_tracking_user_id")
        ),
        sa.PrimaryKeyConstraint("id", "created_at", name=op.f("pk_user_behavior_tracking")),
    )
    op.create_index(
        op.f("idx_tenant_user_behavior"),
        "user_behavior_tracking",
        ["tenant_id", "user_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("idx_user_behavior_tracking_created_at"),
        "user_behavior_tracking",
        ["created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_user_behavior_tracking_source_record_id"),
        "user_behavior_tracking",
        ["source_record_id", "created_at"],
        unique=True,
    )
    op.create_table(
        "user_notification_preferences",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("department_id", sa.UUID(), nullable=False),
        sa.Column("notification_type", sa.String(length=20), nullable=False),
        sa.Column("channel_preferences", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column("quiet_hours_start", sa.Time(), nullable=True),
        sa.Column("quiet_hours_end", sa.Time(), nullable=True),
        sa.Column("timezone", sa.String(length=50), server_default=sa.text("'UTC'"), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_user_notification_preferences_department_id"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_notification_preferences_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_notification_preferences")),
        sa.UniqueConstraint(
            "user_id",
            "department_id",
            "notification_type",
            name=op.f("uq_user_notification_preferences_user_id_department_id_notification_type"),
        ),
    )
    op.create_table(
        "document_permissions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("role_id", sa.UUID(), nullable=True),
        sa.Column("permission_type", sa.String(length=20), nullable=False),
        sa.Column("granted_by", sa.UUID(), nullable=False),
        sa.Column(
            "granted_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint(
            "permission_type IN ('read', 'write', 'delete', 'share')",
            name=op.f("ck_document_permissions_permission_type"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_permissions_document_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["users.id"], name=op.f("fk_document_permissions_granted_by")
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["security_roles.id"], name=op.f("fk_document_permissions_role_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_document_permissions_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_permissions")),
    )
    op.create_table(
        "document_versions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("file_path", sa.String(length=500), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("change_summary", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_document_versions_created_by")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_versions_document_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_versions")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("department_id", sa.UUID(), nullable=False),
        sa.Column("template_id", sa.UUID(), nullable=True),
        sa.Column("channel_id", sa.UUID(), nullable=True),
        sa.Column("notification_type", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column(
            "priority", sa.String(length=10), server_default=sa.text("'normal'"), nullable=False
        ),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "variables",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "status", sa.String(length=20), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("scheduled_for", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("sent_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("read_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'delivered', 'failed', 'read')",
            name=op.f("ck_notifications_status"),
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["notification_channels.id"], name=op.f("fk_notifications_channel_id")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_notifications_department_id")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["notification_templates.id"],
            name=op.f("fk_notifications_template_id"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        op.f("idx_user_notifications"),
        "notifications",
        ["user_id", "status", "created_at"],
        unique=False,
    )
    op.create_table(
        "referral_links",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("referral_code", sa.String(length=50), nullable=False),
        sa.Column("qr_code_url", sa.String(length=500), nullable=True),
        sa.Column("click_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("conversion_count", sa.Integer(), server_default=sa.text("0"), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["referral_campaigns.id"],
            name=op.f("fk_referral_links_campaign_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_referral_links_user_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_links")),
        sa.UniqueConstraint("referral_code", name=op.f("uq_referral_links_referral_code")),
    )
    op.create_table(
        "support_messages",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("message_type", sa.String(length=20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("is_internal", sa.Boolean(), server_default=sa.text("false"), nullable=True),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "message_type IN ('user', 'agent', 'system', 'automated')",
            name=op.f("ck_support_messages_message_type"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_support_messages_ticket_id"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_support_messages_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_messages")),
    )
    op.create_table(
        "user_achievements",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("achievement_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column(
            "earned_at", sa.TIMESTAMP(timezone=True), server_default=sa.text("now()"), nullable=True
        ),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["gamification_achievements.id"],
            name=op.f("fk_user_achievements_achievement_id"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_user_achievements_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_achievements_user_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_achievements")),
        sa.UniqueConstraint(
            "user_id", "achievement_id", name=op.f("uq_user_achievements_user_id_achievement_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("user_achievements")
    op.drop_table("support_messages")
    op.drop_table("referral_links")
    op.drop_index(op.f("idx_user_notifications"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("document_versions")
    op.drop_table("document_permissions")
    op.drop_table("user_notification_preferences")
    op.drop_index(
        op.f("ix_user_behavior_tracking_source_record_id"), table_name="user_behavior_tracking"
    )
    op.drop_index(
        op.f("idx_user_behavior_tracking_created_at"), table_name="user_behavior_tracking"
    )
    op.drop_index(op.f("idx_tenant_user_behavior"), table_name="user_behavior_tracking")
    op.drop_table("user_behavior_tracking")
    op.drop_table("user_behavior_patterns")
    op.drop_index(
        op.f("ix_trading_resource_usage_source_record_id"), table_name="trading_resource_usage"
    )
    op.drop_table("trading_resource_usage")
    op.drop_index(op.f("ix_trading_commissions_source_record_id"), table_name="trading_commissions")
    op.drop_table("trading_commissions")
    op.drop_table("tenant_members")
    op.drop_table("tenant_configurations")
    op.drop_table("system_configurations")
    op.drop_index(op.f("idx_support_tickets_number"), table_name="support_tickets")
    op.drop_table("support_tickets")
    op.drop_table("support_knowledge_base")
    op.drop_table("sessions")
    op.drop_table("security_roles")
    op.drop_table("security_risk_assessments")
    op.drop_table("referral_campaigns")
    op.drop_index(op.f("ix_raw_quarantine_batch_id"), table_name="quarantine", schema="raw")
    op.drop_table("quarantine", schema="raw")
    op.drop_index(
        op.f("ix_platform_usage_tracking_source_record_id"), table_name="platform_usage_tracking"
    )
    op.drop_index(op.f("idx_tenant_usage_tracking"), table_name="platform_usage_tracking")
    op.drop_index(
        op.f("idx_platform_usage_tracking_created_at"), table_name="platform_usage_tracking"
    )
    op.drop_table("platform_usage_tracking")
    op.drop_table("notification_templates")
    op.drop_index(op.f("idx_leads_email"), table_name="leads")
    op.drop_table("leads")
    op.drop_table("irregularity_detection")
    op.drop_table("gamification_achievements")
    op.drop_index(
        op.f("ix_financial_transactions_source_record_id"), table_name="financial_transactions"
    )
    op.drop_table("financial_transactions")
    op.drop_table("financial_reports")
    op.drop_index(op.f("idx_documents_title"), table_name="documents")
    op.drop_table("documents")
    op.drop_table("department_configurations")
    op.drop_table("department_agents")
    op.drop_table("compliance_reports")
    op.drop_table("ceo_strategic_analysis")
    op.drop_table("ceo_decisions")
    op.drop_table("ceo_dashboard_metrics")
    op.drop_index(
        op.f("ix_billing_subscriptions_source_record_id"), table_name="billing_subscriptions"
    )
    op.drop_table("billing_subscriptions")
    op.drop_index(op.f("ix_audit_logs_source_record_id"), table_name="audit_logs")
    op.drop_index(op.f("idx_audit_logs_created_at"), table_name="audit_logs")
    op.drop_table("audit_logs")
    op.drop_table("accounts")
    op.drop_index(op.f("ix_visitor_tracking_source_record_id"), table_name="visitor_tracking")
    op.drop_index(op.f("idx_visitor_tracking_created_at"), table_name="visitor_tracking")
    op.drop_table("visitor_tracking")
    op.drop_index(op.f("ix_visitor_sessions_source_record_id"), table_name="visitor_sessions")
    op.drop_table("visitor_sessions")
    op.drop_table("verification_tokens")
    op.drop_index(op.f("idx_users_email"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("idx_tenants_slug"), table_name="tenants")
    op.drop_table("tenants")
    op.drop_table("subscription_plans")
    op.drop_index(
        op.f("uq_ingest_batches_completed_file"),
        table_name="ingest_batches",
        schema="raw",
        postgresql_where=sa.text("status = 'completed'"),
    )
    op.drop_table("ingest_batches", schema="raw")
    op.drop_table("notification_channels")
    op.drop_table("departments")
    op.execute("DROP SCHEMA IF EXISTS raw")
