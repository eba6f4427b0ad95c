-- Detected irregularities without their free text and evidence.
select
    id as irregularity_id,
    tenant_id,
    user_id,
    irregularity_type,
    severity,
    status,
    assigned_to as assignee_user_id,
    created_at as detected_at,
    resolved_at
from {{ source('platform', 'irregularity_detection') }}
