/* The tenants as a dimension of the metrics: their type, and the reporting day they joined. */
select
    tenant_id,
    tenant_type,
    {{ reporting_day('created_at') }} as created_day
from {{ ref('stg_platform__tenants') }}
