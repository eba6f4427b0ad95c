/*
    Retention backlog: for each time-series table with a retention setting (BCF_RETENTION on
    top of the defaults, as the pipeline reads it), how many rows are older than the setting
    and so awaiting deletion, measured now. Where TimescaleDB drops whole chunks the backlog
    is what its retention job has not dropped yet; on plain PostgreSQL it is everything past
    the setting.
*/
{%- set overrides = fromjson(var('retention_overrides') or '{}') %}
{%- set retention = {} %}
{%- do retention.update(var('retention_defaults')) %}
{%- do retention.update(overrides) %}
{%- set tables = [
    ('visitor_tracking', ref('stg_tracking__visitor_events'), 'occurred_at'),
    ('user_behavior_tracking', ref('stg_behaviour__user_events'), 'occurred_at'),
    ('platform_usage_tracking', ref('stg_usage__usage_events'), 'recorded_at'),
    ('audit_logs', ref('stg_audit__audit_events'), 'occurred_at'),
] %}
with measured as (
    select {{ as_of() }} as measured_at
)
{%- for table_name, relation, time_column in tables %}
{{ "select" if loop.first else "union all\nselect" }}
    '{{ table_name }}'::varchar(100) as table_name,
    '{{ retention[table_name] }}'::varchar(50) as retention_period,
    measured.measured_at - interval '{{ retention[table_name] }}' as cutoff_at,
    (
        select count(*) from {{ relation }}
        where {{ time_column }} < measured.measured_at - interval '{{ retention[table_name] }}'
    )::bigint as rows_past_retention,
    (select min({{ time_column }}) from {{ relation }}) as oldest_row_at,
    measured.measured_at
from measured
{%- endfor %}
