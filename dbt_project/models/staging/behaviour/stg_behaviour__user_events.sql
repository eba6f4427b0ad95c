-- What users do in the platform; network and free-form fields stay behind.
select
    id as event_id,
    created_at as occurred_at,
    tenant_id,
    user_id,
    action,
    resource,
    resource_id,
    source_record_id,
    ingest_batch_id
from {{ source('behaviour', 'user_behavior_tracking') }}
