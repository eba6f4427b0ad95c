-- One row per customer.subscription.* event; Stripe's status verbatim.
select
    event_id,
    subscription_id,
    event_type,
    event_created_at,
    tenant_id,
    user_id,
    status,
    plan_slug,
    stripe_price_id,
    unit_amount,
    upper(currency)::varchar(3) as currency,
    billing_cycle,
    quantity,
    current_period_start,
    current_period_end,
    cancel_at_period_end,
    canceled_at,
    ended_at,
    trial_start,
    trial_end,
    ingest_batch_id
from {{ source('stripe', 'subscription_events') }}
