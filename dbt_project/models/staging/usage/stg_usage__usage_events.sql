{{ config(meta={'test_window_column': 'recorded_at'}) }}
-- Usage records of a tenant's platform resources, recorded at recorded_at.
select
    id as usage_event_id,
    created_at as recorded_at,
    tenant_id,
    user_id,
    resource_type,
    resource_id,
    usage_count,
    usage_value,
    period_start,
    period_end,
    source_record_id,
    ingest_batch_id
from {{ source('usage', 'platform_usage_tracking') }}
