/*
    Data-subject requests (LGPD art. 18 / GDPR arts. 15-22) and the erasures carried out,
    one row per request, from the audit trail. The platform records a request as audit
    events on resource var dsr_resource (default data_subject_request) with the request's id
    as resource_id:
      - the first event is when it was received; request_type (access, rectification,
        erasure, portability, objection, ...) and subject_user_id are read from new_values,
        else metadata;
      - new_values.status completed/fulfilled (or action complete/fulfil) completes it,
        rejected/denied (or action reject) rejects it; otherwise it is open.
    due_at = received_at + var dsr_deadline_days (LGPD art. 19: 15 days); is_overdue when
    answered after due_at, or still open past it (as of now). erasures_carried_out counts
    erasure events (see compliance_personal_data_access) on the subject's user record from
    the request on. The subject appears only pseudonymised.
*/
with events as (
    select
        *,
        coalesce(new_values ->> 'status', metadata ->> 'status') as new_status
    from {{ ref('stg_audit__audit_events') }}
    where resource = '{{ var("dsr_resource") }}'
        and resource_id is not null
),

requests as (
    select
        resource_id as request_id,
        (array_agg(tenant_id order by occurred_at, audit_event_id)
            filter (where tenant_id is not null))[1] as tenant_id,
        min(occurred_at) as received_at,
        (array_agg(coalesce(new_values ->> 'request_type', metadata ->> 'request_type')
            order by occurred_at, audit_event_id)
            filter (where coalesce(new_values ->> 'request_type', metadata ->> 'request_type') is not null))[1]
            as request_type,
        (array_agg(coalesce(new_values ->> 'subject_user_id', metadata ->> 'subject_user_id')
            order by occurred_at, audit_event_id)
            filter (where coalesce(new_values ->> 'subject_user_id', metadata ->> 'subject_user_id') is not null))[1]
            as subject_user_id,
        min(occurred_at) filter (
            where lower(new_status) in ('completed', 'fulfilled', 'done')
                or lower(action) in ('complete', 'fulfil', 'fulfill')
        ) as completed_at,
        min(occurred_at) filter (
            where lower(new_status) in ('rejected', 'denied')
                or lower(action) in ('reject', 'deny')
        ) as rejected_at
    from events
    group by resource_id
),

erasures as (
    select
        requests.request_id,
        count(audit.audit_event_id) as erasures
    from requests
    inner join {{ ref('stg_audit__audit_events') }} as audit
        on audit.resource_id::text = lower(requests.subject_user_id)
        and audit.occurred_at >= requests.received_at
        and lower(audit.resource) in ('user', 'users', 'personal_data')
        and {{ personal_data_access_kind('audit.action') }} = 'erasure'
    group by requests.request_id
),

shaped as (
    select
        requests.*,
        requests.received_at + interval '{{ var("dsr_deadline_days") }} days' as due_at,
        coalesce(requests.completed_at, requests.rejected_at) as answered_at,
        coalesce(erasures.erasures, 0) as erasures_carried_out
    from requests
    left join erasures on erasures.request_id = requests.request_id
)

select
    request_id,
    tenant_id,
    coalesce(lower(request_type), 'unspecified')::varchar(50) as request_type,
    {{ pseudonymise('subject_user_id') }}::varchar(64) as subject_pseudonym,
    received_at,
    {{ reporting_day('received_at') }} as received_day,
    due_at,
    case
        when completed_at is not null then 'completed'
        when rejected_at is not null then 'rejected'
        else 'open'
    end::varchar(20) as status,
    answered_at,
    round(extract(epoch from (answered_at - received_at)) / 86400.0, 2)::numeric(10, 2)
        as days_to_answer,
    coalesce(answered_at > due_at, answered_at is null and {{ as_of() }} > due_at) as is_overdue,
    erasures_carried_out::integer as erasures_carried_out
from shaped
