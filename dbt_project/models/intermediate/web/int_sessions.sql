{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='session_day',
        indexes=[{'columns': ['session_day']}],
        meta={'test_window_column': 'session_day'},
    )
}}
/*
    Web sessions (the collector's session_id) from the tracking events, bots excluded: one row
    per session, dated on the reporting day it started, attributed (channel, utm, country,
    device) from its landing event, the first page view (the first event when it has none).

    On TimescaleDB it reads the continuous aggregate visitor_sessions_daily instead of the
    events (macro timescale_rollup), with the same rows.

    Incremental: rebuilds the sessions that started on or after the window start
    (event_lookback_days before the latest session_day held). Events up to session_max_hours
    before the window are read so that a session which began before the window is recognised
    as such and left as it was; so a session longer than session_max_hours is the only way an
    incremental run can differ from a full refresh.
*/
{%- set rollup = timescale_rollup(
    'visitor_sessions_daily', '; lead_event_names=' ~ var('lead_event_names') | join(',')
) %}
{% if rollup is not none %}
-- TimescaleDB: the continuous aggregate (migration 0010) holds each session's day rows;
-- a session crossing midnight has one per day, merged here. Rows ending before the events
-- the SQL below would read are left out, so both ways read the same sessions.
with day_rows as (
    select *
    from {{ rollup }}
    {% if is_incremental() %}
        where
            bucket >= {{ incremental_window_start('session_day') }}
            - interval '{{ var("session_max_hours") }} hours' - interval '2 days'
            and ended_at >= {{ incremental_window_start('session_day') }}
            - interval '{{ var("session_max_hours") }} hours'
    {% endif %}
),

landing as (
    select distinct on (session_id)
        session_id,
        landing_page_url as landing_page,
        landing_referrer as referrer,
        landing_utm_source as utm_source,
        landing_utm_medium as utm_medium,
        landing_utm_campaign as utm_campaign,
        landing_gclid as gclid,
        landing_fbclid as fbclid,
        landing_country as country,
        landing_device_type as device_type,
        case
            when {{ url_host('landing_referrer') }} = {{ url_host('landing_page_url') }} then null
            else {{ url_host('landing_referrer') }}
        end as referrer_host
    from day_rows
    order by session_id, landing_is_pageview desc, landing_at, landing_event_id
),

sessions as (
    select
        session_id,
        min(started_at) as started_at,
        max(ended_at) as ended_at,
        (array_agg(visitor_id order by bucket) filter (where visitor_id is not null))[1]
            as visitor_id,
        sum(pageviews) as pageviews,
        sum(events) as events,
        sum(duration_s) as duration_s,
        sum(leads) as leads,
        sum(conversions) as conversions,
        sum(conversion_value) as conversion_value
    from day_rows
    group by session_id
)
{% else %}
with events as (
    select *
    from {{ ref('stg_tracking__visitor_events') }}
    where not coalesce(is_bot, false)
    {% if is_incremental() %}
        and occurred_at >= {{ incremental_window_start('session_day') }}
            - interval '{{ var("session_max_hours") }} hours'
    {% endif %}
),

landing as (
    select distinct on (session_id)
        session_id,
        page_url as landing_page,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        gclid,
        fbclid,
        country,
        device_type,
        case
            when {{ url_host('referrer') }} = {{ url_host('page_url') }} then null
            else {{ url_host('referrer') }}
        end as referrer_host
    from events
    order by session_id, (event_type = 'pageview') desc, occurred_at, event_id
),

sessions as (
    select
        session_id,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        (array_agg(visitor_id order by occurred_at, event_id)
            filter (where visitor_id is not null))[1] as visitor_id,
        count(*) filter (where event_type = 'pageview') as pageviews,
        count(*) as events,
        sum(visit_duration_s) as duration_s,
        count(*) filter (
            where event_name in ({{ "'" ~ var('lead_event_names') | join("', '") ~ "'" }})
        ) as leads,
        count(*) filter (where event_type = 'conversion') as conversions,
        coalesce(sum(conversion_value) filter (where event_type = 'conversion'), 0)
            as conversion_value
    from events
    group by session_id
)
{% endif %}

select
    sessions.session_id,
    {{ reporting_day('sessions.started_at') }} as session_day,
    sessions.started_at,
    sessions.ended_at,
    sessions.visitor_id,
    {{ web_channel('landing.gclid', 'landing.fbclid', 'landing.utm_medium', 'landing.referrer_host') }}::varchar(20)
        as channel,
    landing.utm_source,
    landing.utm_medium,
    landing.utm_campaign,
    landing.referrer_host,
    landing.landing_page,
    landing.country,
    landing.device_type,
    sessions.pageviews::integer as pageviews,
    sessions.events::integer as events,
    sessions.pageviews = 1 as is_bounce,
    sessions.duration_s::bigint as duration_s,
    sessions.leads::integer as leads,
    sessions.conversions::integer as conversions,
    sessions.conversion_value::numeric(14, 2) as conversion_value
from sessions
inner join landing on landing.session_id = sessions.session_id
{% if is_incremental() %}
where sessions.started_at >= {{ incremental_window_start('session_day') }}
{% endif %}
