/*
    The items of each subscription as every customer.subscription.* event describes them:
    one row per event and item (very old API versions put `plan` and `quantity` on the
    subscription itself: that is then its one item). Amounts from minor units to the
    currency's major unit; interval and interval_count from the Price's `recurring`, or from
    a legacy Plan.
*/
with events as (
    select
        id as event_id,
        object_id as subscription_id,
        payload -> 'data' -> 'object' as subscription
    from {{ source('stripe', 'stripe_events') }}
    where type in (
        'customer.subscription.created',
        'customer.subscription.updated',
        'customer.subscription.deleted'
    )
),

items as (
    select
        events.event_id,
        events.subscription_id,
        events.subscription,
        item.value as item,
        item.ordinality as item_number
    from events
    cross join lateral jsonb_array_elements(
        case
            when jsonb_typeof(events.subscription -> 'items' -> 'data') = 'array'
                then events.subscription -> 'items' -> 'data'
            else jsonb_build_array(events.subscription)
        end
    ) with ordinality as item (value, ordinality)
),

priced as (
    select
        event_id,
        subscription_id,
        item_number,
        item ->> 'id' as item_id,
        -- nullif: a JSON null is not SQL's.
        coalesce(nullif(item -> 'price', 'null'::jsonb), item -> 'plan') as price,
        coalesce(nullif(item -> 'quantity', 'null'::jsonb), subscription -> 'quantity') as quantity
    from items
)

select
    event_id,
    subscription_id,
    item_number::integer as item_number,
    item_id::varchar(255) as item_id,
    (price ->> 'id')::varchar(255) as price_id,
    upper(price ->> 'currency')::varchar(3) as currency,
    (
        coalesce(price ->> 'unit_amount', price ->> 'amount')::numeric
        / power(10, {{ stripe_currency_exponent("upper(price ->> 'currency')") }})
    )::numeric(15, 2) as unit_amount,
    (quantity #>> '{}')::integer as quantity,
    coalesce(price -> 'recurring' ->> 'interval', price ->> 'interval')::varchar(10) as recurring_interval,
    coalesce(
        price -> 'recurring' ->> 'interval_count', price ->> 'interval_count', '1'
    )::integer as interval_count
from priced
