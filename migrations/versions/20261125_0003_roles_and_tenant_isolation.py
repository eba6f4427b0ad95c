"""Roles bcf_api, bcf_pipeline, bcf_bi_reader; row-level security per tenant for bcf_api

Roles are cluster-wide and shared by every database on the server, so the downgrade revokes
this database's grants and policies but leaves the roles.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

from core.db import access

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen at this revision; later migrations extend them for the tables they add.
TENANT_TABLES = [
    "billing_subscriptions", "ceo_dashboard_metrics", "documents", "financial_reports",
    "financial_transactions", "gamification_achievements", "irregularity_detection", "leads",
    "referral_campaigns", "security_risk_assessments", "security_roles", "support_tickets",
    "tenant_configurations", "tenant_members", "trading_commissions", "trading_resource_usage",
    "user_achievements", "user_behavior_patterns",
]  # fmt: skip
# The time-series tables (hypertables under TimescaleDB, which refuses row-level security
# with compression): INSERT only for the API, tenant checked by a trigger.
APPEND_ONLY_TENANT_TABLES = ["audit_logs", "platform_usage_tracking", "user_behavior_tracking"]
APPEND_ONLY_GLOBAL_TABLES = ["visitor_tracking"]
# A tenant's key sees its own tenants row only.
TENANT_ROW_TABLE = "tenants"
CHILD_TABLES = {  # table: (fk column, parent table, parent key)
    "referral_links": ("campaign_id", "referral_campaigns", "id"),
    "support_messages": ("ticket_id", "support_tickets", "id"),
    "document_versions": ("document_id", "documents", "id"),
    "document_permissions": ("document_id", "documents", "id"),
}
GLOBAL_TABLES = [
    "ceo_decisions", "ceo_strategic_analysis", "compliance_reports", "department_agents",
    "department_configurations", "departments", "notification_channels",
    "notification_templates", "notifications", "subscription_plans", "support_knowledge_base",
    "system_configurations", "user_notification_preferences", "visitor_sessions",
]  # fmt: skip
# Authentication secrets (passwords, tokens) are never the API's.
AUTH_SECRET_TABLES = ["accounts", "sessions", "verification_tokens"]
RAW_TABLES = ["ingest_batches", "quarantine"]

API_TABLES = [*TENANT_TABLES, TENANT_ROW_TABLE, *CHILD_TABLES, *GLOBAL_TABLES]
APPEND_ONLY_TABLES = [*APPEND_ONLY_TENANT_TABLES, *APPEND_ONLY_GLOBAL_TABLES]
ALL_PUBLIC_TABLES = [*API_TABLES, *APPEND_ONLY_TABLES, "users", *AUTH_SECRET_TABLES]
DML = "SELECT, INSERT, UPDATE, DELETE"


def upgrade() -> None:
    statements = [
        *access.create_roles(),
        *access.grant_schemas(),
        *access.grant_tables("public", API_TABLES, access.API_ROLE, DML),
        # Users are shared by tenants: profile sync may read, create and update them.
        *access.grant_tables("public", ["users"], access.API_ROLE, "SELECT, INSERT, UPDATE"),
        *access.grant_tables("public", APPEND_ONLY_TABLES, access.API_ROLE, "INSERT"),
        *access.grant_tables("public", ALL_PUBLIC_TABLES, access.PIPELINE_ROLE, f"{DML}, TRUNCATE"),
        *access.grant_tables("raw", RAW_TABLES, access.PIPELINE_ROLE, f"{DML}, TRUNCATE"),
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA raw TO {access.PIPELINE_ROLE}",
        *access.isolate_by_tenant(TENANT_ROW_TABLE, tenant_column="id"),
        access.create_tenant_guard(),
    ]
    for table in APPEND_ONLY_TENANT_TABLES:
        statements += access.guard_append_only(table)
    for table in TENANT_TABLES:
        statements += access.isolate_by_tenant(table)
    for table, (fk_column, parent, parent_key) in CHILD_TABLES.items():
        statements += access.isolate_through_parent(table, fk_column, parent, parent_key)
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = []
    for table in [TENANT_ROW_TABLE, *TENANT_TABLES, *CHILD_TABLES]:
        statements += access.drop_isolation(table)
    for table in APPEND_ONLY_TENANT_TABLES:
        statements += access.unguard_append_only(table)
    statements.append(access.drop_tenant_guard())
    statements += [
        f"REVOKE USAGE ON ALL SEQUENCES IN SCHEMA raw FROM {access.PIPELINE_ROLE}",
        *access.revoke_tables("raw", RAW_TABLES, access.PIPELINE_ROLE),
        *access.revoke_tables("public", ALL_PUBLIC_TABLES, access.PIPELINE_ROLE),
        *access.revoke_tables(
            "public", [*API_TABLES, *APPEND_ONLY_TABLES, "users"], access.API_ROLE
        ),
        *access.revoke_schemas(),
    ]
    for statement in statements:
        op.execute(statement)
