-- The audit trail, one row per audited action.
select
    id as audit_event_id,
    created_at as occurred_at,
    tenant_id,
    user_id,
    action,
    resource,
    resource_id,
    old_values,
    new_values,
    ip_address,
    session_id,
    metadata,
    source_record_id,
    ingest_batch_id
from {{ source('audit', 'audit_logs') }}
