/*
    Which discounts each customer.subscription.* event says apply to the subscription: the
    ids in `discounts` (ids, or expanded objects) and the legacy single `discount`. One row
    per event that carries either field (an empty list says: none); events without them
    say nothing, and the discounts are then found by their own `subscription`.
*/
with events as (
    select
        id as event_id,
        object_id as subscription_id,
        payload -> 'data' -> 'object' as subscription
    from {{ source('stripe', 'stripe_events') }}
    where type like 'customer.subscription.%'
        and (
            payload -> 'data' -> 'object' ? 'discounts'
            or payload -> 'data' -> 'object' ? 'discount'
        )
)

select
    event_id,
    subscription_id,
    coalesce((
        select jsonb_agg(distinct ids.discount_id)
        from (
            select coalesce(listed.value ->> 'id', listed.value #>> '{}') as discount_id
            from jsonb_array_elements(
                case
                    when jsonb_typeof(events.subscription -> 'discounts') = 'array'
                        then events.subscription -> 'discounts'
                    else '[]'
                end
            ) as listed (value)
            union
            select events.subscription -> 'discount' ->> 'id'
            where jsonb_typeof(events.subscription -> 'discount') = 'object'
        ) as ids
    ), '[]') as discount_ids
from events
