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

    monthly_amount_original is the sum over the state's items (stg_stripe__subscription_items:
    add-ons included) of unit_amount × quantity ÷ the months of the price's interval
    (interval_count months, or 12 × interval_count for a year); for a state known only from
    raw.subscription_events (no payload), its plan row. billing_months is the billing
    period in months (what an amount_off coupon is normalised by), and listed_discount_ids the
    discounts the state lists (null when the event says nothing about discounts).
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

items as (
    select
        event_id,
        sum(unit_amount * quantity / {{ months_per_interval("recurring_interval", "interval_count") }})
            as monthly_amount,
        min({{ months_per_interval("recurring_interval", "interval_count") }}) as billing_months
    from {{ ref('stg_stripe__subscription_items') }}
    group by event_id
),

discount_lists as (
    select * from {{ ref('stg_stripe__subscription_discount_lists') }}
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
    ordered.subscription_id,
    state_number::integer as state_number,
    ordered.event_id,
    event_type,
    tenant_id,
    user_id,
    status,
    plan_slug,
    stripe_price_id,
    ordered.billing_cycle,
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
    -- Items normalised to a month, in the price's currency, unrounded, before discounts.
    coalesce(
        items.monthly_amount,
        unit_amount * quantity / {{ months_per_cycle('ordered.billing_cycle') }}
    )::numeric(20, 8) as monthly_amount_original,
    coalesce(items.billing_months, {{ months_per_cycle('ordered.billing_cycle') }})::integer
        as billing_months,
    discount_lists.discount_ids as listed_discount_ids
from ordered
left join items on items.event_id = ordered.event_id
left join discount_lists on discount_lists.event_id = ordered.event_id
