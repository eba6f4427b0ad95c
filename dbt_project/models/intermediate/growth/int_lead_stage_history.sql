/*
    The funnel stages each lead went through, one row per stage stay:
    new (from created_at), then every status change the audit trail records for the lead
    (audit_logs with resource 'lead' and new_values.status), and, when the audit trail never
    saw the lead's current status, that status from its updated_at. Repeats of the same
    status in a row are one stay. left_at is when the next stage began (null: current).
*/
with leads as (
    select * from {{ ref('stg_platform__leads') }}
),

audited as (
    select
        audit.resource_id as lead_id,
        audit.occurred_at as changed_at,
        audit.new_values ->> 'status' as stage
    from {{ ref('stg_audit__audit_events') }} as audit
    where audit.resource in ('lead', 'leads')
        and audit.resource_id is not null
        and audit.new_values ->> 'status' in ('new', 'contacted', 'qualified', 'converted', 'lost')
),

changes as (
    select lead_id, created_at as changed_at, 'new' as stage, 0 as source_rank
    from leads

    union all

    select audited.lead_id, audited.changed_at, audited.stage, 1 as source_rank
    from audited
    inner join leads on leads.lead_id = audited.lead_id

    union all

    select leads.lead_id, coalesce(leads.updated_at, leads.created_at), leads.lead_status, 2
    from leads
    where leads.lead_status <> 'new'
        and not exists (
            select 1 from audited
            where audited.lead_id = leads.lead_id and audited.stage = leads.lead_status
        )
),

ordered as (
    select
        *,
        lag(stage) over by_time as previous_stage
    from changes
    window by_time as (partition by lead_id order by changed_at, source_rank)
),

stays as (
    select
        lead_id,
        stage,
        changed_at as entered_at,
        lead(changed_at) over (partition by lead_id order by changed_at, source_rank) as left_at
    from ordered
    where previous_stage is distinct from stage
)

select
    stays.lead_id,
    leads.tenant_id,
    leads.lead_source,
    stays.stage::varchar(20) as stage,
    case stays.stage
        when 'new' then 0
        when 'contacted' then 1
        when 'qualified' then 2
        when 'converted' then 3
    end as stage_rank,
    stays.entered_at,
    stays.left_at,
    stays.left_at is null as is_current,
    round(extract(epoch from (stays.left_at - stays.entered_at)) / 3600.0, 2)::numeric(12, 2)
        as hours_in_stage
from stays
inner join leads on leads.lead_id = stays.lead_id
