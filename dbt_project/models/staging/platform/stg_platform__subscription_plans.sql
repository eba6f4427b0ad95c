select
    id as plan_id,
    slug as plan_slug,
    name as plan_name,
    price,
    upper(currency)::varchar(3) as currency,
    billing_cycle,
    stripe_price_id,
    limits,
    is_active,
    created_at,
    updated_at
from {{ source('platform', 'subscription_plans') }}
