-- Leads without their contact details (name, email, phone, company stay behind).
select
    id as lead_id,
    tenant_id,
    source as lead_source,
    status as lead_status,
    score,
    assigned_to as assigned_user_id,
    created_at,
    updated_at
from {{ source('platform', 'leads') }}
