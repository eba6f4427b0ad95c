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
    Audit activity per reporting day, tenant (null: platform-wide), action and resource.
    Incremental: rebuilds the days from event_lookback_days before the latest day held, so
    late audit events are counted. Where TimescaleDB holds the continuous aggregate
    audit_logs_daily (same days, same measures), it is read instead of the events.
*/
{%- set rollup = timescale_rollup('audit_logs_daily') %}
{%- if rollup is not none %}
select
    (bucket at time zone '{{ var("reporting_tz") }}')::date as day,
    tenant_id,
    action::varchar(100) as action,
    resource::varchar(100) as resource,
    lower(resource) in {{ sql_list(var('pii_resources')) }} as is_personal_data,
    events::integer as events,
    users::integer as users,
    system_events::integer as system_events,
    ip_addresses::integer as ip_addresses
from {{ rollup }}
{% if is_incremental() %}
where bucket >= {{ incremental_window_start('day') }}
{% endif %}
{%- else %}
select
    {{ reporting_day('occurred_at') }} as day,
    tenant_id,
    action::varchar(100) as action,
    resource::varchar(100) as resource,
    lower(resource) in {{ sql_list(var('pii_resources')) }} as is_personal_data,
    count(*)::integer as events,
    count(distinct user_id)::integer as users,
    count(*) filter (where user_id is null)::integer as system_events,
    count(distinct ip_address)::integer as ip_addresses
from {{ ref('stg_audit__audit_events') }}
{% if is_incremental() %}
where occurred_at >= {{ incremental_window_start('day') }}
{% endif %}
group by 1, 2, 3, 4, 5
{%- endif %}
