/*
    Paid trading resources (bot execution, signal analysis, market data, backtesting, paper
    trading) used per reporting day, tenant and resource type, with their cost. The table has
    no currency column: costs are taken to be in the reporting currency.
*/
select
    {{ reporting_day('used_at') }} as day,
    tenant_id,
    resource_type::varchar(50) as resource_type,
    count(*)::integer as uses,
    sum(usage_count)::bigint as units,
    sum(usage_seconds)::bigint as usage_seconds,
    sum(total_cost)::numeric(15, 2) as total_cost,
    {{ safe_divide('sum(total_cost)', 'sum(usage_count)', 4) }}::numeric(12, 4) as avg_cost_per_unit
from {{ ref('stg_trading__resource_usages') }}
group by 1, 2, 3
