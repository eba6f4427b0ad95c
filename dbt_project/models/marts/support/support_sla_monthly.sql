/*
    Support service levels per month the ticket was opened, tenant, priority and category.
    First response: the first message a support agent wrote to the customer (message_type
    agent, not an internal note). Resolution: resolved_at − created_at. Targets per priority
    are var support_sla_targets (calendar time). Open tickets without a response or
    resolution count against the target once their age passes it (as of now).
*/
{%- set targets = var('support_sla_targets') %}
with tickets as (
    select * from {{ ref('stg_platform__support_tickets') }}
),

first_responses as (
    select
        ticket_id,
        min(created_at) as first_response_at
    from {{ ref('stg_platform__support_messages') }}
    where message_type = 'agent' and not is_internal
    group by ticket_id
),

targets (priority, first_response_minutes, resolution_hours) as (
    values
    {%- for priority, target in targets.items() %}
        ('{{ priority }}', {{ target["first_response_minutes"] }}, {{ target["resolution_hours"] }}){{ "," if not loop.last }}
    {%- endfor %}
),

measured as (
    select
        tickets.*,
        extract(epoch from (first_responses.first_response_at - tickets.created_at)) / 60.0
            as first_response_minutes,
        extract(epoch from (tickets.resolved_at - tickets.created_at)) / 3600.0 as resolution_hours,
        extract(epoch from ({{ as_of() }} - tickets.created_at)) / 60.0 as age_minutes,
        targets.first_response_minutes as first_response_target,
        targets.resolution_hours as resolution_target
    from tickets
    left join first_responses on first_responses.ticket_id = tickets.ticket_id
    left join targets on targets.priority = tickets.priority
)

select
    {{ reporting_month('created_at') }} as month,
    tenant_id,
    priority::varchar(20) as priority,
    category::varchar(50) as category,
    count(*)::integer as tickets,
    count(*) filter (where first_response_minutes is not null)::integer as responded,
    count(*) filter (where resolved_at is not null)::integer as resolved,
    count(*) filter (where resolved_at is null)::integer as unresolved,
    round(avg(first_response_minutes), 2)::numeric(12, 2) as avg_first_response_minutes,
    round((percentile_cont(0.5) within group (order by first_response_minutes))::numeric, 2)::numeric(12, 2)
        as median_first_response_minutes,
    round(avg(resolution_hours), 2)::numeric(12, 2) as avg_resolution_hours,
    round((percentile_cont(0.5) within group (order by resolution_hours))::numeric, 2)::numeric(12, 2)
        as median_resolution_hours,
    count(*) filter (
        where first_response_minutes > first_response_target
            or (first_response_minutes is null and age_minutes > first_response_target)
    )::integer as first_response_breaches,
    count(*) filter (
        where resolution_hours > resolution_target
            or (resolved_at is null and age_minutes / 60.0 > resolution_target)
    )::integer as resolution_breaches,
    {{ safe_divide(
        'count(*) filter (where first_response_minutes <= first_response_target)',
        'count(*) filter (where first_response_minutes is not null or age_minutes > first_response_target)',
        4) }}::numeric(7, 4) as first_response_sla_rate,
    {{ safe_divide(
        'count(*) filter (where resolution_hours <= resolution_target)',
        'count(*) filter (where resolved_at is not null or age_minutes / 60.0 > resolution_target)',
        4) }}::numeric(7, 4) as resolution_sla_rate
from measured
group by 1, 2, 3, 4
