"""Idempotency-Key records keep the row a one-statement create answered with

A keyed create that joins the group commit records its answer in the statement that writes
it, before the API renders the response: the row, as JSON, from which both the first
answer and every replay are rendered (`write_api.idempotency`). Records of other writes keep
the rendered body, as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "idempotency_keys",
        sa.Column("response_row", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="api",
    )


def downgrade() -> None:
    op.drop_column("idempotency_keys", "response_row", schema="api")
