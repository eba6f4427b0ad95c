"""TimescaleDB continuous aggregates of the event tables, with refresh and compression

Where TimescaleDB is installed (migration 0002 made the hypertables): `visitor_tracking_hourly`
and `visitor_tracking_daily`, `platform_usage_daily` (tenant, resource) and `audit_logs_daily`
(tenant, action, resource). Days are buckets in the reporting time zone of the settings at
this migration; each view's comment records it, and the dbt marts read a view only while it
matches theirs (docs/operations.md). Real-time aggregation is on: a view answers with its
materialized buckets plus the rows after its watermark aggregated at query time, so it is
never behind the table for new rows. On plain PostgreSQL nothing happens.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from core.db import timescale
from core.settings import Settings

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen at this revision. What each view groups and measures; `{day}` is the bucket.
CHANNEL_INPUTS = (
    "utm_source, utm_medium, utm_campaign, (gclid IS NOT NULL) AS has_gclid, "
    "(fbclid IS NOT NULL) AS has_fbclid, referrer, country, device_type"
)
VISITS = (
    "count(*) AS page_views, count(DISTINCT metadata ->> 'visitor_id') AS visitors, "
    "count(DISTINCT session_id) AS sessions"
)
VIEWS: dict[str, tuple[str, str]] = {
    "visitor_tracking_hourly": (
        "visitor_tracking",
        f"SELECT time_bucket('1 hour', created_at) AS bucket, {CHANNEL_INPUTS}, {VISITS} "
        "FROM public.visitor_tracking GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9",
    ),
    "visitor_tracking_daily": (
        "visitor_tracking",
        "SELECT time_bucket('1 day', created_at, {tz}) AS bucket, "
        f"{CHANNEL_INPUTS}, {VISITS} "
        "FROM public.visitor_tracking GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9",
    ),
    "platform_usage_daily": (
        "platform_usage_tracking",
        "SELECT time_bucket('1 day', created_at, {tz}) AS bucket, tenant_id, resource_type, "
        "count(*) AS records, sum(usage_count) AS usage_count, "
        "coalesce(sum(usage_value), 0) AS usage_value, count(DISTINCT user_id) AS users, "
        "count(DISTINCT resource_id) AS resources "
        "FROM public.platform_usage_tracking GROUP BY 1, 2, 3",
    ),
    "audit_logs_daily": (
        "audit_logs",
        "SELECT time_bucket('1 day', created_at, {tz}) AS bucket, tenant_id, action, resource, "
        "count(*) AS events, count(DISTINCT user_id) AS users, "
        "count(*) FILTER (WHERE user_id IS NULL) AS system_events, "
        "count(DISTINCT ip_address) AS ip_addresses "
        "FROM public.audit_logs GROUP BY 1, 2, 3, 4",
    ),
}
# Refreshed hourly over the last 30 days, so late events (the marts look back 3 days) reach
# the materialized buckets within the hour; compressed once older than 60 days.
REFRESH_START = "30 days"
REFRESH_END = "1 hour"
REFRESH_EVERY = "1 hour"
COMPRESS_AFTER = "60 days"


def upgrade() -> None:
    conn = op.get_bind()
    if not timescale.timescaledb_installed(conn):
        print("continuous aggregates skipped: TimescaleDB is not installed here")
        return
    tz = Settings().reporting_tz
    quoted_tz = conn.scalar(text("SELECT quote_literal(:tz)"), {"tz": tz})
    for view, (_, query) in VIEWS.items():
        conn.execute(
            text(
                f"CREATE MATERIALIZED VIEW public.{view} WITH (timescaledb.continuous, "
                "timescaledb.materialized_only = false) AS "
                f"{query.format(tz=quoted_tz)} WITH NO DATA"
            )
        )
        conn.execute(text(f"COMMENT ON VIEW public.{view} IS {timescale.rollup_comment(tz)}"))
        conn.execute(
            text(
                "SELECT add_continuous_aggregate_policy(CAST(:view AS regclass), "
                "start_offset => CAST(:start AS interval), end_offset => CAST(:end AS interval), "
                "schedule_interval => CAST(:every AS interval))"
            ),
            {"view": f"public.{view}", "start": REFRESH_START, "end": REFRESH_END,
             "every": REFRESH_EVERY},
        )  # fmt: skip
        conn.execute(text(f"ALTER MATERIALIZED VIEW public.{view} SET (timescaledb.compress)"))
        conn.execute(
            text(
                "SELECT add_compression_policy(CAST(:view AS regclass), CAST(:after AS interval))"
            ),
            {"view": f"public.{view}", "after": COMPRESS_AFTER},
        )
        conn.execute(text(f"GRANT SELECT ON public.{view} TO bcf_pipeline"))


def downgrade() -> None:
    conn = op.get_bind()
    if not timescale.timescaledb_installed(conn):
        return
    for view in reversed(VIEWS):
        conn.execute(text(f"DROP MATERIALIZED VIEW IF EXISTS public.{view}"))
