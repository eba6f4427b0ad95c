/*
    The lead funnel new → contacted → qualified → converted (or lost), per cohort month (the
    reporting month the lead came in), tenant and lead source. A lead counts at a stage when
    it ever reached it or a later one (int_lead_stage_history); lost leads count at the
    stages they reached before.
      contact_rate       = contacted / leads
      qualification_rate = qualified / contacted
      conversion_rate    = converted / leads
      win_rate           = converted / (converted + lost)
    Times in stage are means over the stays that ended (hours), days_to_convert from the
    lead's arrival to its conversion. Rates with a zero denominator are null.
*/
with stays as (
    select * from {{ ref('int_lead_stage_history') }}
),

leads as (
    select
        lead_id,
        tenant_id,
        lead_source,
        min(entered_at) filter (where stage = 'new') as created_at,
        max(stage_rank) as furthest_rank,
        bool_or(stage = 'converted') as is_converted,
        bool_or(stage = 'lost' and is_current) as is_lost,
        min(entered_at) filter (where stage = 'converted') as converted_at
    from stays
    group by lead_id, tenant_id, lead_source
),

stage_times as (
    select
        lead_id,
        avg(hours_in_stage) filter (where stage = 'new') as hours_in_new,
        avg(hours_in_stage) filter (where stage = 'contacted') as hours_in_contacted,
        avg(hours_in_stage) filter (where stage = 'qualified') as hours_in_qualified
    from stays
    where not is_current
    group by lead_id
),

cohorts as (
    select
        {{ reporting_month('leads.created_at') }} as month,
        leads.tenant_id,
        leads.lead_source,
        count(*) as leads,
        count(*) filter (where leads.furthest_rank >= 1) as contacted,
        count(*) filter (where leads.furthest_rank >= 2) as qualified,
        count(*) filter (where leads.is_converted) as converted,
        count(*) filter (where leads.is_lost) as lost,
        count(*) filter (where not leads.is_converted and not leads.is_lost) as open_leads,
        avg(stage_times.hours_in_new) as avg_hours_in_new,
        avg(stage_times.hours_in_contacted) as avg_hours_in_contacted,
        avg(stage_times.hours_in_qualified) as avg_hours_in_qualified,
        avg(extract(epoch from (leads.converted_at - leads.created_at)) / 86400.0)
            as avg_days_to_convert
    from leads
    left join stage_times on stage_times.lead_id = leads.lead_id
    group by 1, 2, 3
)

select
    month,
    tenant_id,
    lead_source::varchar(50) as lead_source,
    leads::integer as leads,
    contacted::integer as contacted,
    qualified::integer as qualified,
    converted::integer as converted,
    lost::integer as lost,
    open_leads::integer as open_leads,
    {{ safe_divide('contacted', 'leads', 4) }}::numeric(7, 4) as contact_rate,
    {{ safe_divide('qualified', 'contacted', 4) }}::numeric(7, 4) as qualification_rate,
    {{ safe_divide('converted', 'leads', 4) }}::numeric(7, 4) as conversion_rate,
    {{ safe_divide('converted', 'converted + lost', 4) }}::numeric(7, 4) as win_rate,
    round(avg_hours_in_new, 2)::numeric(12, 2) as avg_hours_in_new,
    round(avg_hours_in_contacted, 2)::numeric(12, 2) as avg_hours_in_contacted,
    round(avg_hours_in_qualified, 2)::numeric(12, 2) as avg_hours_in_qualified,
    round(avg_days_to_convert, 2)::numeric(12, 2) as avg_days_to_convert
from cohorts
