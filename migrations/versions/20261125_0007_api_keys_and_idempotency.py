"""Schema api: the write API's keys and its Idempotency-Key records

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.db import access

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "api"


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    op.create_table(
        "api_keys",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("secret_sha256", sa.CHAR(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=True),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.TIMESTAMP(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scopes <@ ARRAY['read', 'write', 'track']::text[] AND cardinality(scopes) > 0",
            name=op.f("ck_api_keys_scopes"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_api_keys_tenant_id"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
        schema=SCHEMA,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("request_sha256", sa.CHAR(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            [f"{SCHEMA}.api_keys.id"],
            name=op.f("fk_idempotency_keys_api_key_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("api_key_id", "idempotency_key", name=op.f("pk_idempotency_keys")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_api_idempotency_keys_expires_at"),
        "idempotency_keys",
        ["expires_at"],
        unique=False,
        schema=SCHEMA,
    )
    api, pipeline = access.API_ROLE, access.PIPELINE_ROLE
    for statement in (
        f"GRANT USAGE ON SCHEMA {SCHEMA} TO {api}, {pipeline}",
        # The API reads keys to authenticate; only the key commands (as the pipeline) write them.
        f"GRANT SELECT ON {SCHEMA}.api_keys TO {api}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {SCHEMA}.idempotency_keys TO {api}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {SCHEMA} "
        f"TO {pipeline}",
    ):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index(
        op.f("ix_api_idempotency_keys_expires_at"), table_name="idempotency_keys", schema=SCHEMA
    )
    op.drop_table("idempotency_keys", schema=SCHEMA)
    op.drop_table("api_keys", schema=SCHEMA)
    # Revokes go with the tables; the schema's usage grants go with the schema.
    op.execute(f"DROP SCHEMA IF EXISTS {SCHEMA}")
