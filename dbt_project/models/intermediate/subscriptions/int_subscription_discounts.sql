/*
    Each discount once: its latest description (by event `created`, then event id) and
    when it was deleted (the first customer.discount.deleted), with the window in which it
    changes MRR (METRICS.md): from `start` until `end` (a repeating coupon without an `end`:
    start + duration_in_months), or until it was deleted, whichever is first. A coupon with
    duration `once` never changes MRR (changes_mrr false).
*/
with seen as (
    select
        *,
        row_number() over (
            partition by discount_id order by event_created_at desc, event_id desc
        ) as recency
    from {{ ref('stg_stripe__discounts') }}
),

deleted as (
    select
        discount_id,
        min(event_created_at) as deleted_at
    from {{ ref('stg_stripe__discounts') }}
    where is_deletion
    group by discount_id
),

subscriptions as (
    select
        discount_id,
        max(subscription_id) as subscription_id
    from {{ ref('stg_stripe__discounts') }}
    group by discount_id
)

select
    seen.discount_id,
    coalesce(seen.subscription_id, subscriptions.subscription_id) as subscription_id,
    seen.coupon_id,
    seen.percent_off,
    seen.amount_off,
    seen.amount_off_currency,
    seen.duration,
    seen.starts_at,
    coalesce(
        seen.ends_at,
        case
            when seen.duration = 'repeating'
                then seen.starts_at + make_interval(months => seen.duration_in_months)
        end
    ) as ends_at,
    deleted.deleted_at,
    seen.duration <> 'once' as changes_mrr
from seen
left join deleted on deleted.discount_id = seen.discount_id
left join subscriptions on subscriptions.discount_id = seen.discount_id
where seen.recency = 1
