-- Tickets without their free text (subject, description).
select
    id as ticket_id,
    ticket_number,
    tenant_id,
    user_id as requester_user_id,
    category,
    priority,
    status,
    assigned_to as assignee_user_id,
    created_at,
    updated_at,
    resolved_at
from {{ source('platform', 'support_tickets') }}
