/*
    Trading commissions per reporting day, tenant and asset type, from the trade fills.
    effective_commission_rate = commission_amount / trade_amount (commissions are charged on
    the traded amount). The table has no currency column: amounts are taken to be in the
    reporting currency.
*/
select
    {{ reporting_day('traded_at') }} as day,
    tenant_id,
    asset_type::varchar(20) as asset_type,
    count(*)::integer as fills,
    count(distinct trade_id)::integer as trades,
    count(distinct user_id)::integer as traders,
    sum(trade_amount)::numeric(15, 2) as trade_amount,
    sum(profit_amount)::numeric(15, 2) as profit_amount,
    sum(commission_amount)::numeric(15, 2) as commission_amount,
    {{ safe_divide('sum(commission_amount)', 'sum(trade_amount)', 6) }}::numeric(10, 6)
        as effective_commission_rate
from {{ ref('stg_trading__commissions') }}
group by 1, 2, 3
