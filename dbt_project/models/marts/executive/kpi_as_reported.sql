{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        full_refresh=false,
        indexes=[{'columns': ['month', 'metric', 'reported_at']}],
    )
}}
/*
    Each closed month's KPIs as reported: append-only, one row per (month, metric) when a
    build first sees the month closed and again whenever a later build computes another
    value. Never rebuilt (full_refresh=false): `dbt build --full-refresh` keeps the history.
    The metrics are the columns of ceo_kpis_monthly; kpi_restatements reads the changes.
*/
{%- set kpis = graph.nodes.values() | selectattr('name', 'equalto', 'ceo_kpis_monthly') | first %}
{%- set metrics = kpis.columns.keys() | reject('equalto', 'month') | list %}

with closed_months as (
    select
        kpis.month,
        metric.name as metric,
        metric.value
    from {{ ref('ceo_kpis_monthly') }} as kpis
    cross join lateral (
        values
        {%- for metric in metrics %}
            ('{{ metric }}', kpis.{{ metric }}::numeric){{ ',' if not loop.last }}
        {%- endfor %}
    ) as metric (name, value)
    where kpis.month < {{ as_of_month() }}
)

{% if is_incremental() %}
, last_reported as (
    select distinct on (month, metric) month, metric, value
    from {{ this }}
    order by month, metric, reported_at desc
)
{% endif %}

select
    closed_months.month,
    closed_months.metric,
    closed_months.value,
    '{{ run_started_at.isoformat() }}'::timestamptz as reported_at
from closed_months
{% if is_incremental() %}
left join last_reported
    on closed_months.month = last_reported.month
    and closed_months.metric = last_reported.metric
where last_reported.month is null
    or closed_months.value is distinct from last_reported.value
{% endif %}
