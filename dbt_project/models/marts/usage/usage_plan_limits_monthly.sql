/*
    Plan-limit utilisation per month, tenant and limited resource: what the tenant used
    (usage_platform_daily) against the limit of its plan (subscription_plans.limits).

    - The tenant's plan in a month: that of its live subscription with the highest MRR at the
      month's last instant (int_mrr_by_subscription_monthly; a trial counts too).
    - Which limits key(s), measure and aggregation belong to each resource type is
      var plan_limit_resources: stock resources (bots, users, storage) use the month's peak
      day, flow resources (api_calls, transactions, bandwidth) the month's total. A limit of
      -1, null or a non-number ("unlimited") is no limit. Its unit, too: GB for storage and
      bandwidth (the plans' limits are storage_gb and bandwidth_gb), a count otherwise.
    - One row per resource the plan lists a limit for (used 0 when nothing was recorded).
    utilisation = used / usage_limit (null without a limit); is_over_limit = used > usage_limit.
*/
{%- set resources = var('plan_limit_resources') %}
with resources (resource_type, limit_keys, measure, aggregation, unit) as (
    values
    {%- for name, spec in resources.items() %}
        ('{{ name }}', array['{{ spec["keys"] | join("', '") }}'], '{{ spec["measure"] }}', '{{ spec["aggregation"] }}', '{{ spec["unit"] }}'){{ "," if not loop.last }}
    {%- endfor %}
),

tenant_plans as (
    select distinct on (month, tenant_id)
        month,
        tenant_id,
        plan_slug
    from {{ ref('int_mrr_by_subscription_monthly') }}
    order by month, tenant_id, mrr desc nulls last, subscription_id
),

plan_limits as (
    select
        plans.plan_slug,
        resources.resource_type,
        resources.measure,
        resources.aggregation,
        resources.unit,
        limit_value.raw_limit
    from {{ ref('stg_platform__subscription_plans') }} as plans
    cross join resources
    cross join lateral (
        select plans.limits -> keys.key as raw_limit
        from unnest(resources.limit_keys) with ordinality as keys (key, position)
        where plans.limits ? keys.key
        order by keys.position
        limit 1
    ) as limit_value
),

daily_usage as (
    select
        date_trunc('month', usage.day)::date as month,
        usage.day,
        usage.tenant_id,
        usage.resource_type,
        case resources.measure
            when 'usage_value' then usage.usage_value
            else usage.usage_count
        end as amount,
        resources.aggregation
    from {{ ref('usage_platform_daily') }} as usage
    inner join resources on resources.resource_type = usage.resource_type
),

monthly_usage as (
    select
        month,
        tenant_id,
        resource_type,
        case
            when min(aggregation) = 'peak' then max(amount)
            else sum(amount)
        end as used
    from daily_usage
    group by month, tenant_id, resource_type
),

joined as (
    select
        tenant_plans.month,
        tenant_plans.tenant_id,
        tenant_plans.plan_slug,
        plan_limits.resource_type,
        plan_limits.aggregation,
        plan_limits.unit,
        coalesce(monthly_usage.used, 0) as used,
        case
            when jsonb_typeof(plan_limits.raw_limit) = 'number'
                and (plan_limits.raw_limit #>> '{}')::numeric >= 0
                then (plan_limits.raw_limit #>> '{}')::numeric
        end as usage_limit
    from tenant_plans
    inner join plan_limits on plan_limits.plan_slug = tenant_plans.plan_slug
    left join monthly_usage
        on monthly_usage.month = tenant_plans.month
        and monthly_usage.tenant_id = tenant_plans.tenant_id
        and monthly_usage.resource_type = plan_limits.resource_type
)

select
    month,
    tenant_id,
    plan_slug::varchar(50) as plan_slug,
    resource_type::varchar(50) as resource_type,
    aggregation::varchar(10) as aggregation,
    unit::varchar(20) as unit,
    used::numeric(18, 2) as used,
    usage_limit::numeric(18, 2) as usage_limit,
    usage_limit is null as is_unlimited,
    {{ safe_divide('used', 'usage_limit', 4) }}::numeric(12, 4) as utilisation,
    coalesce(used > usage_limit, false) as is_over_limit
from joined
