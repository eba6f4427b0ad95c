-- One row per fill that used a paid trading resource.
select
    id as resource_usage_id,
    source_record_id as fill_id,
    tenant_id,
    user_id,
    resource_type,
    usage_duration as usage_seconds,
    usage_count,
    cost_per_unit,
    total_cost,
    billing_period_start,
    billing_period_end,
    created_at as used_at,
    ingest_batch_id
from {{ source('trading', 'trading_resource_usage') }}
