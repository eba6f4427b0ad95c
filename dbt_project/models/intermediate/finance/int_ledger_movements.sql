/*
    Money that moved, from the ledger (financial_transactions with status completed), one
    row per movement, dated in the reporting time zone on the day it happened:
    - payment: when charged (processed_at);
    - refund: when refunded (its own row, its own date: a refund of a charge from a closed
      month lands on the refund's day, never back on the charge's);
    - chargeback: when the disputed funds were withdrawn (the dispute opened), and, for a
      dispute won, a reinstatement row when they came back (dispute_funds reinstated): each
      on its own day, so a closed month never changes.
    Adjustments carry no direction in the ledger and are left out. Pending, failed and
    cancelled rows are not money that moved.

    amount stays in its currency; amount_converted is the reporting currency at that day's
    rate, to the cent per movement (null and fx_missing when no rate is known).
    signed_amount_converted is + for money in (payments, reinstated chargebacks) and − for
    money out (refunds, withdrawn chargebacks).
*/
with ledger as (
    select
        *,
        coalesce(processed_at, created_at) as moved_at
    from {{ ref('stg_payments__financial_transactions') }}
    where status = 'completed'
        and transaction_type in ('payment', 'refund', 'chargeback')
),

dated as (
    select
        *,
        {{ reporting_day('moved_at') }} as day
    from ledger
),

fx as (
    select * from {{ ref('int_fx_rates_daily') }}
)

select
    dated.transaction_id,
    dated.day,
    dated.moved_at,
    dated.tenant_id,
    dated.user_id,
    dated.transaction_type,
    dated.dispute_funds,
    case
        when dated.revenue_type in ('subscription', 'commission', 'usage', 'other')
            then dated.revenue_type
        else 'other'
    end::varchar(20) as revenue_type,
    dated.currency,
    dated.amount,
    dated.payment_method,
    case when dated.currency = '{{ var("reporting_currency") }}' then 1 else fx.rate end::numeric(18, 8)
        as fx_rate,
    {{ to_reporting_currency("dated.amount", "dated.currency", "fx.rate") }}::numeric(15, 2)
        as amount_converted,
    (case when dated.transaction_type = 'payment' or dated.dispute_funds = 'reinstated' then 1 else -1 end
        * {{ to_reporting_currency("dated.amount", "dated.currency", "fx.rate") }})::numeric(15, 2)
        as signed_amount_converted,
    dated.currency <> '{{ var("reporting_currency") }}' and fx.rate is null as fx_missing
from dated
left join fx
    on fx.currency = dated.currency
    and fx.day = dated.day
