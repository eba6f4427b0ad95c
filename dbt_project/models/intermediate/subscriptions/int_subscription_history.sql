/*
    Each subscription's states over time, from its event history: one row per
    customer.subscription.* event, valid from that event until the next one
    ([valid_from, valid_to), valid_to null for the current state).

    Events stamped in the same second are ordered by lifecycle (created, updated, deleted),
    then by event id, as the payments ingest orders them.

    service_ends_at is when service stops under this state (METRICS.md): current_period_end
    when cancel_at_period_end, else the end (ended_at) or cancellation (canceled_at) time.
    A state counts towards MRR while its Stripe status is active or past_due and the instant
    measured is before service_ends_at; trialing counts 0.
*/
with events as (
    select
        *,
        case event_type
            when 'customer.subscription.created' then 0
            when 'customer.subscription.deleted' then 2
            else 1
        end as lifecycle_rank
    from {{ ref('stg_stripe__subscription_events') }}
),

ordered as (
    select
        *,
        row_number() over by_time as state_number,
        lead(event_created_at) over by_time as next_event_at
    from events
    window by_time as (
        partition by subscription_id
        order by event_created_at, lifecycle_rank, event_id
    )
)

select
    subscription_id,
    state_number::integer as state_number,
    event_id,
    event_type,
    tenant_id,
    user_id,
    status,
    plan_slug,
    stripe_price_id,
    billing_cycle,
    quantity,
    unit_amount,
    currency,
    current_period_start,
    current_period_end,
    cancel_at_period_end,
    canceled_at,
    ended_at,
    trial_start,
    trial_end,
    event_created_at as valid_from,
    next_event_at as valid_to,
    case
        when cancel_at_period_end then current_period_end
        else coalesce(ended_at, canceled_at)
    end as service_ends_at,
    status in ('active', 'past_due') as is_revenue_status,
    -- Price normalised to a month, in the price's currency, unrounded.
    (unit_amount * quantity / {{ months_per_cycle('billing_cycle') }})::numeric(20, 8)
        as monthly_amount_original
from ordered
