"""pg_stat_statements, where the server offers it: the monitor's top statements

The extension's view answers only where the server preloads the library
(`shared_preload_libraries`; the private cluster of `bcf services` does); elsewhere the
monitor says so. Creating it needs a superuser; without one this says so and goes on.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    offered = conn.scalar(
        text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'")
    )
    if not offered:
        print("pg_stat_statements is not offered by this server: the monitor lists no statements")
        return
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
    except DBAPIError as error:
        print(f"pg_stat_statements not created ({error.orig}): the monitor lists no statements")


def downgrade() -> None:
    op.execute("DROP EXTENSION IF EXISTS pg_stat_statements")
