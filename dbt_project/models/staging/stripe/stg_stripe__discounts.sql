/*
    Discount objects as Stripe sent them: the data.object of customer.discount.created,
    .updated and .deleted events, and the discounts a subscription event carries expanded
    (`discounts[]` objects, or the legacy single `discount`). One row per event and discount.
    The coupon is at `coupon` up to API version 2025-08-27.basil and at `source.coupon` from
    then on; both are read. amount_off from minor units to the coupon currency's major unit.
*/
with events as (
    select
        id as event_id,
        type as event_type,
        created_at as event_created_at,
        object_id,
        payload -> 'data' -> 'object' as obj
    from {{ source('stripe', 'stripe_events') }}
    where type like 'customer.discount.%'
        or type like 'customer.subscription.%'
),

found as (
    select event_id, event_type, event_created_at, obj as discount, null as subscription_id
    from events
    where event_type like 'customer.discount.%'
    union all
    select events.event_id, events.event_type, events.event_created_at, listed.value, events.object_id
    from events
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof(events.obj -> 'discounts') = 'array' then events.obj -> 'discounts' else '[]' end
    ) as listed (value)
    where events.event_type like 'customer.subscription.%'
        and jsonb_typeof(listed.value) = 'object'
    union all
    select event_id, event_type, event_created_at, obj -> 'discount', object_id
    from events
    where event_type like 'customer.subscription.%'
        and jsonb_typeof(obj -> 'discount') = 'object'
),

couponed as (
    select
        *,
        -- A JSON null is not SQL's: the newer shape sends "coupon": null beside source.coupon.
        coalesce(
            nullif(discount -> 'coupon', 'null'::jsonb),
            discount -> 'source' -> 'coupon'
        ) as coupon
    from found
)

select
    event_id,
    event_type::varchar(100) as event_type,
    event_created_at,
    (discount ->> 'id')::varchar(255) as discount_id,
    coalesce(discount ->> 'subscription', subscription_id)::varchar(255) as subscription_id,
    (coupon ->> 'id')::varchar(255) as coupon_id,
    (coupon ->> 'percent_off')::numeric(7, 4) as percent_off,
    (
        (coupon ->> 'amount_off')::numeric
        / power(10, {{ stripe_currency_exponent("upper(coupon ->> 'currency')") }})
    )::numeric(15, 2) as amount_off,
    upper(coupon ->> 'currency')::varchar(3) as amount_off_currency,
    (coupon ->> 'duration')::varchar(20) as duration,
    (coupon ->> 'duration_in_months')::integer as duration_in_months,
    to_timestamp((discount ->> 'start')::bigint) as starts_at,
    to_timestamp((discount ->> 'end')::bigint) as ends_at,
    event_type = 'customer.discount.deleted' as is_deletion
from couponed
