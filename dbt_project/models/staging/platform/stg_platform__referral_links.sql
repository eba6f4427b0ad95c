select
    id as referral_link_id,
    campaign_id,
    user_id as referrer_user_id,
    referral_code,
    coalesce(click_count, 0) as click_count,
    coalesce(conversion_count, 0) as conversion_count,
    is_active,
    created_at,
    updated_at
from {{ source('platform', 'referral_links') }}
