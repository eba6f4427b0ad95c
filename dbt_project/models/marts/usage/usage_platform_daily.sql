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
    Platform usage per reporting day, tenant and resource type (platform_usage_tracking),
    dated by when the usage was recorded. Incremental: rebuilds the days from
    event_lookback_days before the latest day held, so late records are counted. Where
    TimescaleDB holds the continuous aggregate platform_usage_daily (same days, same
    measures), it is read instead of the records.
*/
{%- set rollup = timescale_rollup('platform_usage_daily') %}
{%- if rollup is not none %}
select
    (bucket at time zone '{{ var("reporting_tz") }}')::date as day,
    tenant_id,
    resource_type::varchar(50) as resource_type,
    records::integer as records,
    usage_count::bigint as usage_count,
    usage_value::numeric(18, 2) as usage_value,
    users::integer as users,
    resources::integer as resources
from {{ rollup }}
{% if is_incremental() %}
where bucket >= {{ incremental_window_start('day') }}
{% endif %}
{%- else %}
select
    {{ reporting_day('recorded_at') }} as day,
    tenant_id,
    resource_type::varchar(50) as resource_type,
    count(*)::integer as records,
    sum(usage_count)::bigint as usage_count,
    coalesce(sum(usage_value), 0)::numeric(18, 2) as usage_value,
    count(distinct user_id)::integer as users,
    count(distinct resource_id)::integer as resources
from {{ ref('stg_usage__usage_events') }}
{% if is_incremental() %}
where recorded_at >= {{ incremental_window_start('day') }}
{% endif %}
group by 1, 2, 3
{%- endif %}
