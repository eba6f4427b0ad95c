select
    id as campaign_id,
    tenant_id,
    name as campaign_name,
    is_active,
    start_date as starts_at,
    end_date as ends_at,
    reward_type,
    reward_value,
    max_rewards,
    created_by as created_by_user_id,
    created_at,
    updated_at
from {{ source('platform', 'referral_campaigns') }}
