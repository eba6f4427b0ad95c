select
    id as tenant_id,
    name as tenant_name,
    slug as tenant_slug,
    type as tenant_type,
    status as tenant_status,
    created_at,
    updated_at
from {{ source('platform', 'tenants') }}
