"""TimescaleDB: hypertables, compression and retention for the four time-series tables

Only where the server offers the extension; on plain PostgreSQL this says so in one line and
the tables stay ordinary. Chunk interval, compression age and retention come from settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import DBAPIError

from core.db import timescale
from core.settings import Settings

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen at this revision. Compressed chunks are segmented by tenant where there is one.
HYPERTABLE_SEGMENT_BY: dict[str, str | None] = {
    "visitor_tracking": None,
    "user_behavior_tracking": "tenant_id",
    "platform_usage_tracking": "tenant_id",
    "audit_logs": "tenant_id",
}


def upgrade() -> None:
    conn = op.get_bind()
    if not timescale.timescaledb_available(conn):
        print(timescale.NOT_AVAILABLE)
        return
    try:
        with conn.begin_nested():
            timescale.create_extension(conn)
    except DBAPIError as error:  # offered but not loadable, e.g. not in shared_preload_libraries
        print(f"{timescale.NOT_AVAILABLE}; the extension failed to load: {error.orig}")
        return
    settings = Settings()
    for table, segment_by in HYPERTABLE_SEGMENT_BY.items():
        timescale.make_hypertable(
            conn, table, chunk_interval=settings.timescale_chunk_interval, segment_by=segment_by
        )
        timescale.set_policies(
            conn,
            table,
            compress_after=settings.timescale_compress_after,
            retain_for=settings.retention[table],
        )


def downgrade() -> None:
    conn = op.get_bind()
    if not timescale.timescaledb_installed(conn):
        return
    # The policies go; the tables stay hypertables (TimescaleDB cannot turn one back) until
    # the downgrade of 0001 drops them.
    for table in HYPERTABLE_SEGMENT_BY:
        timescale.remove_policies(conn, table)
