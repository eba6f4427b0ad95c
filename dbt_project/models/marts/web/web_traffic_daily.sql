{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='day',
        indexes=[{'columns': ['day']}],
        meta={'test_window_column': 'day'},
    )
}}
/*
    Web traffic per reporting day and acquisition slice (METRICS.md), from int_sessions (bots
    excluded; a session counts on the day it started, attributed from its landing event).
      visitors  distinct visitor ids (the session id when the collector sent none)
      bounces   sessions with exactly one page view; bounce_rate = bounces / sessions
      avg_session_duration_s  mean of the sessions' summed time on page
      leads     tracking events named as in var lead_event_names
    Incremental: rebuilds the days from event_lookback_days before the latest day held.
*/
select
    session_day as day,
    channel,
    utm_source,
    utm_medium,
    utm_campaign,
    country,
    device_type,
    count(distinct coalesce(visitor_id, session_id))::integer as visitors,
    count(*)::integer as sessions,
    sum(pageviews)::integer as pageviews,
    count(*) filter (where is_bounce)::integer as bounces,
    {{ safe_divide('count(*) filter (where is_bounce)', 'count(*)', 4) }}::numeric(7, 4) as bounce_rate,
    round(avg(duration_s), 2)::numeric(12, 2) as avg_session_duration_s,
    sum(leads)::integer as leads
from {{ ref('int_sessions') }}
{% if is_incremental() %}
where session_day >= (
    select coalesce(max(day) - {{ var("event_lookback_days") }}, '-infinity'::date) from {{ this }}
)
{% endif %}
group by 1, 2, 3, 4, 5, 6, 7
