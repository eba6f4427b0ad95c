/*
    Compliance irregularities per month detected, tenant, type, severity and current status,
    with the time it took to resolve them (resolved_at − detected_at, hours; false positives
    that were closed count as resolved) and how long the unresolved ones have been open
    (as of now).
*/
with irregularities as (
    select
        *,
        extract(epoch from (resolved_at - detected_at)) / 3600.0 as hours_to_resolve,
        case
            when resolved_at is null then extract(epoch from ({{ as_of() }} - detected_at)) / 3600.0
        end as hours_open
    from {{ ref('stg_platform__irregularities') }}
)

select
    {{ reporting_month('detected_at') }} as month,
    tenant_id,
    irregularity_type::varchar(100) as irregularity_type,
    severity::varchar(20) as severity,
    status::varchar(20) as status,
    count(*)::integer as irregularities,
    count(*) filter (where resolved_at is not null)::integer as resolved,
    count(*) filter (where resolved_at is null)::integer as unresolved,
    round(avg(hours_to_resolve), 2)::numeric(12, 2) as avg_hours_to_resolve,
    round((percentile_cont(0.5) within group (order by hours_to_resolve))::numeric, 2)::numeric(12, 2)
        as median_hours_to_resolve,
    round(max(hours_to_resolve), 2)::numeric(12, 2) as max_hours_to_resolve,
    round(max(hours_open), 2)::numeric(12, 2) as max_hours_open
from irregularities
group by 1, 2, 3, 4, 5
