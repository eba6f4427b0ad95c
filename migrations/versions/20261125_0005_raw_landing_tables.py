"""Raw landing tables: Stripe events, the subscription history, FX rates, expenses

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.db import access

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ["stripe_events", "subscription_events", "fx_rates", "expenses"]


def upgrade() -> None:
    op.create_table(
        "expenses",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("source_record_id", sa.String(length=255), nullable=False),
        sa.Column("expense_date", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("vendor", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.Column(
            "ingested_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_expenses_amount")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expenses")),
        sa.UniqueConstraint("source_record_id", name=op.f("uq_expenses_source_record_id")),
        schema="raw",
    )
    op.create_table(
        "fx_rates",
        sa.Column("rate_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=18, scale=8), nullable=False),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.Column(
            "ingested_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("rate > 0", name=op.f("ck_fx_rates_rate")),
        sa.PrimaryKeyConstraint("rate_date", "currency", name=op.f("pk_fx_rates")),
        schema="raw",
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("api_version", sa.String(length=50), nullable=True),
        sa.Column("livemode", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("object_type", sa.String(length=50), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.Column(
            "ingested_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
        schema="raw",
    )
    op.create_index(
        op.f("ix_raw_stripe_events_object_id"),
        "stripe_events",
        ["object_id"],
        unique=False,
        schema="raw",
    )
    op.create_index(
        op.f("ix_raw_stripe_events_type"),
        "stripe_events",
        ["type", "created_at"],
        unique=False,
        schema="raw",
    )
    op.create_table(
        "subscription_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("subscription_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("event_created_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("plan_slug", sa.String(length=50), nullable=True),
        sa.Column("stripe_price_id", sa.String(length=255), nullable=True),
        sa.Column("unit_amount", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("currency", sa.CHAR(length=3), nullable=True),
        sa.Column("billing_cycle", sa.String(length=20), nullable=True),
        sa.Column("quantity", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("current_period_start", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("current_period_end", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column(
            "cancel_at_period_end", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("canceled_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("ended_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("trial_start", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("trial_end", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("ingest_batch_id", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "billing_cycle IN ('monthly', 'quarterly', 'yearly')",
            name=op.f("ck_subscription_events_billing_cycle"),
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_subscription_events_quantity")),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_subscription_events")),
        schema="raw",
    )
    op.create_index(
        op.f("ix_raw_subscription_events_subscription_id"),
        "subscription_events",
        ["subscription_id", "event_created_at"],
        unique=False,
        schema="raw",
    )
    for statement in access.grant_tables(
        "raw", NEW_TABLES, access.PIPELINE_ROLE, "SELECT, INSERT, UPDATE, DELETE, TRUNCATE"
    ):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index(
        op.f("ix_raw_subscription_events_subscription_id"),
        table_name="subscription_events",
        schema="raw",
    )
    op.drop_table("subscription_events", schema="raw")
    op.drop_index(op.f("ix_raw_stripe_events_type"), table_name="stripe_events", schema="raw")
    op.drop_index(op.f("ix_raw_stripe_events_object_id"), table_name="stripe_events", schema="raw")
    op.drop_table("stripe_events", schema="raw")
    op.drop_table("fx_rates", schema="raw")
    op.drop_table("expenses", schema="raw")
