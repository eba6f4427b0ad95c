-- Messages on tickets without their content.
select
    id as message_id,
    ticket_id,
    user_id as author_user_id,
    message_type,
    coalesce(is_internal, false) as is_internal,
    created_at
from {{ source('platform', 'support_messages') }}
