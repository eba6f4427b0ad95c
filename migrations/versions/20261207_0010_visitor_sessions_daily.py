"""Continuous aggregate of web sessions per reporting day: `visitor_sessions_daily`.

Where TimescaleDB is installed: one row per day bucket (reporting time zone) and
`session_id`, bots excluded, holding what `int_sessions` needs of the session's events in
that day: first and last event, the first visitor id, the bucket's landing event (the first
page view, else the first event; ties broken by event id) with its sort key, and the counts
and sums. A session crossing midnight is a row per day; `int_sessions` merges them. The view
freezes what dbt otherwise decides at build time, the reporting time zone and the lead
event names; its comment records both, and dbt reads it only while they match its vars
(macro `timescale_rollup`). On plain PostgreSQL nothing happens.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from core.db import timescale
from core.settings import Settings

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEW = "visitor_sessions_daily"
# Frozen at this revision: dbt's var lead_event_names as it was (dbt_project.yml).
LEAD_EVENT_NAMES = ("lead",)
# As stg_tracking__visitor_events types them (its casts truncate, so these do too).
EVENT_TYPE = "coalesce(metadata ->> 'event_type', 'pageview')::varchar(20)"
VISITOR = "(metadata ->> 'visitor_id')::varchar(255)"
IS_BOT = (
    "CASE WHEN jsonb_typeof(metadata -> 'is_bot') = 'boolean' "
    "THEN (metadata ->> 'is_bot')::boolean END"
)
CONVERSION_VALUE = (
    "CASE WHEN jsonb_typeof(metadata -> 'conversion_value') = 'number' "
    "THEN (metadata ->> 'conversion_value')::numeric(12, 2) END"
)
LANDING_ORDER = f"({EVENT_TYPE} = 'pageview') DESC, created_at, id"
LANDING = (
    "page_url", "referrer", "utm_source", "utm_medium", "utm_campaign", "gclid", "fbclid",
    "country", "device_type",
)  # fmt: skip
# Refreshed and compressed as the views of 0009.
REFRESH_START, REFRESH_END, REFRESH_EVERY, COMPRESS_AFTER = "30 days", "1 hour", "1 hour", "60 days"


def view_query(quoted_tz: str) -> str:
    leads = ", ".join(f"'{name}'" for name in LEAD_EVENT_NAMES)
    landing = ", ".join(
        f"(array_agg({column} ORDER BY {LANDING_ORDER}))[1] AS landing_{column}"
        for column in LANDING
    )
    return (
        f"SELECT time_bucket('1 day', created_at, {quoted_tz}) AS bucket, session_id, "
        "min(created_at) AS started_at, max(created_at) AS ended_at, "
        f"(array_agg({VISITOR} ORDER BY created_at, id) "
        f"FILTER (WHERE {VISITOR} IS NOT NULL))[1] AS visitor_id, "
        f"(array_agg({EVENT_TYPE} = 'pageview' ORDER BY {LANDING_ORDER}))[1] "
        "AS landing_is_pageview, "
        f"(array_agg(created_at ORDER BY {LANDING_ORDER}))[1] AS landing_at, "
        f"(array_agg(id ORDER BY {LANDING_ORDER}))[1] AS landing_event_id, {landing}, "
        f"count(*) FILTER (WHERE {EVENT_TYPE} = 'pageview') AS pageviews, "
        "count(*) AS events, sum(coalesce(visit_duration, 0)) AS duration_s, "
        f"count(*) FILTER (WHERE (metadata ->> 'event_name')::varchar(100) IN ({leads})) "
        "AS leads, "
        f"count(*) FILTER (WHERE {EVENT_TYPE} = 'conversion') AS conversions, "
        f"coalesce(sum({CONVERSION_VALUE}) FILTER (WHERE {EVENT_TYPE} = 'conversion'), 0) "
        "AS conversion_value "
        f"FROM public.visitor_tracking WHERE NOT coalesce({IS_BOT}, false) GROUP BY 1, 2"
    )


def upgrade() -> None:
    conn = op.get_bind()
    if not timescale.timescaledb_installed(conn):
        print(f"{VIEW} skipped: TimescaleDB is not installed here")
        return
    tz = Settings().reporting_tz
    quoted_tz = conn.scalar(text("SELECT quote_literal(:tz)"), {"tz": tz})
    conn.execute(
        text(
            f"CREATE MATERIALIZED VIEW public.{VIEW} WITH (timescaledb.continuous, "
            f"timescaledb.materialized_only = false) AS {view_query(quoted_tz)} WITH NO DATA"
        )
    )
    comment = (
        timescale.rollup_comment(tz)[:-1] + f"; lead_event_names={','.join(LEAD_EVENT_NAMES)}'"
    )
    conn.execute(text(f"COMMENT ON VIEW public.{VIEW} IS {comment}"))
    conn.execute(
        text(
            "SELECT add_continuous_aggregate_policy(CAST(:view AS regclass), "
            "start_offset => CAST(:start AS interval), end_offset => CAST(:end AS interval), "
            "schedule_interval => CAST(:every AS interval))"
        ),
        {"view": f"public.{VIEW}", "start": REFRESH_START, "end": REFRESH_END,
         "every": REFRESH_EVERY},
    )  # fmt: skip
    conn.execute(text(f"ALTER MATERIALIZED VIEW public.{VIEW} SET (timescaledb.compress)"))
    conn.execute(
        text("SELECT add_compression_policy(CAST(:view AS regclass), CAST(:after AS interval))"),
        {"view": f"public.{VIEW}", "after": COMPRESS_AFTER},
    )
    conn.execute(text(f"GRANT SELECT ON public.{VIEW} TO bcf_pipeline"))


def downgrade() -> None:
    conn = op.get_bind()
    if timescale.timescaledb_installed(conn):
        conn.execute(text(f"DROP MATERIALIZED VIEW IF EXISTS public.{VIEW}"))
