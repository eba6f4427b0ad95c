/*
    The CEO's monthly KPIs (METRICS.md), one row per month from the first month with any
    MRR, revenue, tenant or activity to the current month.

    Every column but month is the metric of the same name in models/semantic/_metrics.yml,
    computed by macro metrics_by_month from those definitions (the ones `bcf metrics` and
    MetricFlow query) and cast to the column's contract type: money to the cent, rates to
    6 decimals (rounded half away from zero).
*/
-- The models of the semantic models the metrics read (dbt cannot see refs made at run time):
-- depends_on: {{ ref('int_metric_tenant_months') }}
-- depends_on: {{ ref('int_metric_tenants') }}
-- depends_on: {{ ref('revenue_daily') }}
-- depends_on: {{ ref('int_user_activity_daily') }}
{%- set metric_columns = model.columns.values() | rejectattr('name', 'equalto', 'month') | list %}

with metrics as (
    {{ metrics_by_month(metric_columns | map(attribute='name') | list) | indent(4) }}
)

select
    month
    {%- for column in metric_columns %},
    {{ column.name }}::{{ column.data_type }} as {{ column.name }}
    {%- endfor %}
from metrics
