"""The visitor sessions of the tracking source: `public.visitor_sessions`, recomputed after
each batch from the events in `public.visitor_tracking` (the source's `derived_sql`).

How each column is computed: the `tracking` module docstring ("Sessions").
"""

from __future__ import annotations

from typing import Final

# What each event contributes, and the aggregate of one session's events (both paths below).
_EVENT_COLUMNS: Final = """
        v.session_id,
        v.id,
        v.created_at,
        v.page_url,
        coalesce(v.visit_duration, 0) AS visit_duration,
        coalesce(v.metadata ->> 'event_type', 'pageview') AS event_type,
        v.metadata ->> 'visitor_id' AS visitor_id,
        CASE WHEN jsonb_typeof(v.metadata -> 'conversion_value') = 'number'
            THEN (v.metadata ->> 'conversion_value')::numeric
        END AS conversion_value,
        CASE WHEN jsonb_typeof(v.metadata -> 'is_bot') = 'boolean'
            THEN (v.metadata ->> 'is_bot')::boolean
        END AS is_bot"""
_AGGREGATES: Final = """
        e.session_id,
        min(e.created_at) AS first_visit_at,
        max(e.created_at) AS last_visit_at,
        count(*) FILTER (WHERE e.event_type = 'pageview') AS total_visits,
        sum(e.visit_duration) AS total_duration,
        count(DISTINCT e.page_url) FILTER (WHERE e.event_type = 'pageview') AS pages_visited,
        count(*) FILTER (WHERE e.event_type = 'conversion') AS conversion_events,
        sum(e.conversion_value) FILTER (WHERE e.event_type = 'conversion') AS conversion_value,
        (array_agg(e.visitor_id ORDER BY e.created_at, e.id)
            FILTER (WHERE e.visitor_id IS NOT NULL))[1] AS visitor_id,
        (array_agg(e.page_url ORDER BY e.created_at, e.id)
            FILTER (WHERE e.event_type = 'pageview'))[1] AS landing_page,
        (array_agg(e.page_url ORDER BY e.created_at DESC, e.id DESC)
            FILTER (WHERE e.event_type = 'pageview'))[1] AS exit_page,
        bool_or(e.is_bot) AS is_bot,
        count(*) AS events"""

# Sessions touched by the batch, from all their events in visitor_tracking.
#
# The batch's own rows are found by ingest_batch_id, within the ledger's min/max_event_at
# when the loader has written them (any superset of the batch's event times is right), else
# anywhere, and aggregated by session in one pass (`batch_agg`). visitor_sessions already
# spans every event loaded before (each batch ran this statement in its transaction), so:
# - a session with no stored row has no events but this batch's: its `batch_agg` row is the
#   answer (nearly every session of a bulk load, which so skips finding each session's
#   events again through the session index);
# - a session with a stored row is recomputed from all its events, which lie between the
#   earlier of its stored first_visit_at and the batch's first event and the later of
#   last_visit_at and the batch's last event. Scanning only that time range lets
#   TimescaleDB skip old chunks.
# Re-running it changes nothing: every session then has a stored row, is recomputed, and
# the update is skipped when the recomputed row is the same.
SESSIONS_SQL: Final = f"""
WITH ledger AS (
    SELECT
        coalesce(
            (SELECT b.min_event_at FROM raw.ingest_batches AS b
             WHERE b.id = CAST(:batch_id AS uuid)),
            '-infinity'::timestamptz
        ) AS lo,
        coalesce(
            (SELECT b.max_event_at FROM raw.ingest_batches AS b
             WHERE b.id = CAST(:batch_id AS uuid)),
            'infinity'::timestamptz
        ) AS hi
),
batch_agg AS (
    SELECT {_AGGREGATES}
    FROM (
        SELECT {_EVENT_COLUMNS}
        FROM public.visitor_tracking AS v
        CROSS JOIN ledger
        WHERE v.ingest_batch_id = CAST(:batch_id AS uuid)
            AND v.created_at >= ledger.lo
            AND v.created_at <= ledger.hi
    ) AS e
    GROUP BY e.session_id
),
stored AS (
    SELECT
        b.session_id,
        least(b.first_visit_at, s.first_visit_at) AS lo,
        greatest(b.last_visit_at, s.last_visit_at) AS hi
    FROM batch_agg AS b
    INNER JOIN public.visitor_sessions AS s ON s.session_id = b.session_id
),
span AS (
    SELECT min(stored.lo) AS lo, max(stored.hi) AS hi FROM stored
),
history_agg AS (
    SELECT {_AGGREGATES}
    FROM (
        SELECT {_EVENT_COLUMNS}
        FROM public.visitor_tracking AS v
        INNER JOIN stored AS b ON v.session_id = b.session_id
        CROSS JOIN span
        WHERE v.created_at >= span.lo AND v.created_at <= span.hi
    ) AS e
    GROUP BY e.session_id
),
agg AS (
    SELECT b.* FROM batch_agg AS b
    WHERE NOT EXISTS (SELECT FROM stored WHERE stored.session_id = b.session_id)
    UNION ALL
    SELECT h.* FROM history_agg AS h
)
INSERT INTO public.visitor_sessions AS s (
    session_id, visitor_id, first_visit_at, last_visit_at, total_visits, total_duration,
    pages_visited, conversion_events, is_converted, conversion_value, metadata,
    source_record_id, ingest_batch_id
)
SELECT
    a.session_id,
    a.visitor_id,
    a.first_visit_at,
    a.last_visit_at,
    a.total_visits::integer,
    least(a.total_duration, 2147483647)::integer,
    a.pages_visited::integer,
    a.conversion_events::integer,
    a.conversion_events > 0,
    -- least() skips NULLs: a session without a valued conversion keeps NULL
    CASE WHEN a.conversion_value IS NOT NULL
        THEN least(round(a.conversion_value, 2), 99999999.99)
    END,
    jsonb_strip_nulls(jsonb_build_object(
        'landing_page', a.landing_page,
        'exit_page', a.exit_page,
        'events', a.events,
        'is_bot', a.is_bot,
        'conversion_value_capped', CASE WHEN a.conversion_value > 99999999.99 THEN true END
    )),
    a.session_id,
    CAST(:batch_id AS uuid)
FROM agg AS a
ON CONFLICT (session_id) DO UPDATE SET
    visitor_id = excluded.visitor_id,
    first_visit_at = excluded.first_visit_at,
    last_visit_at = excluded.last_visit_at,
    total_visits = excluded.total_visits,
    total_duration = excluded.total_duration,
    pages_visited = excluded.pages_visited,
    conversion_events = excluded.conversion_events,
    is_converted = excluded.is_converted,
    conversion_value = excluded.conversion_value,
    metadata = excluded.metadata,
    source_record_id = excluded.source_record_id,
    ingest_batch_id = excluded.ingest_batch_id,
    updated_at = now()
WHERE (
    s.visitor_id, s.first_visit_at, s.last_visit_at, s.total_visits, s.total_duration,
    s.pages_visited, s.conversion_events, s.is_converted, s.conversion_value, s.metadata
) IS DISTINCT FROM (
    excluded.visitor_id, excluded.first_visit_at, excluded.last_visit_at,
    excluded.total_visits, excluded.total_duration, excluded.pages_visited,
    excluded.conversion_events, excluded.is_converted, excluded.conversion_value,
    excluded.metadata
)
"""
