/*
    Monthly cash flow in the reporting currency: cash in = completed payments by settlement
    date (the payment's day + var settlement_lag_days; the ledger holds no payout dates),
    cash out = refunds and chargebacks on the day they happened plus operating expenses on
    their date. cumulative_net_cash_flow runs from the first month.
    Movements without an FX rate are counted in unconverted_items and left out of the sums.
*/
with movements as (
    select
        date_trunc(
            'month',
            case
                when transaction_type = 'payment' then day + {{ var("settlement_lag_days") }}
                else day
            end
        )::date as month,
        transaction_type,
        amount_converted,
        signed_amount_converted,
        fx_missing
    from {{ ref('int_ledger_movements') }}
),

ledger as (
    select
        month,
        coalesce(sum(amount_converted) filter (where transaction_type = 'payment'), 0) as cash_in,
        coalesce(sum(amount_converted) filter (where transaction_type = 'refund'), 0) as refunds_paid,
        -- withdrawn − reinstated (won disputes give the money back)
        coalesce(-sum(signed_amount_converted) filter (where transaction_type = 'chargeback'), 0)
            as chargebacks_paid,
        count(*) filter (where fx_missing) as unconverted_items
    from movements
    group by month
),

expenses as (
    select
        month,
        coalesce(sum(amount), 0) as expenses_paid,
        sum(unconverted_expenses) as unconverted_items
    from {{ ref('finance_expenses_monthly') }}
    group by month
),

months as (
    select month::date as month
    from generate_series(
        coalesce(
            least((select min(month) from ledger), (select min(month) from expenses)),
            {{ as_of_month() }}
        )::timestamp,
        greatest((select max(month) from ledger), {{ as_of_month() }})::timestamp,
        interval '1 month'
    ) as month
),

flows as (
    select
        months.month,
        coalesce(ledger.cash_in, 0) as cash_in,
        coalesce(ledger.refunds_paid, 0) as refunds_paid,
        coalesce(ledger.chargebacks_paid, 0) as chargebacks_paid,
        coalesce(expenses.expenses_paid, 0) as expenses_paid,
        coalesce(ledger.unconverted_items, 0) + coalesce(expenses.unconverted_items, 0)
            as unconverted_items
    from months
    left join ledger on ledger.month = months.month
    left join expenses on expenses.month = months.month
)

select
    month,
    cash_in::numeric(15, 2) as cash_in,
    refunds_paid::numeric(15, 2) as refunds_paid,
    chargebacks_paid::numeric(15, 2) as chargebacks_paid,
    expenses_paid::numeric(15, 2) as expenses_paid,
    (refunds_paid + chargebacks_paid + expenses_paid)::numeric(15, 2) as cash_out,
    (cash_in - refunds_paid - chargebacks_paid - expenses_paid)::numeric(15, 2) as net_cash_flow,
    sum(cash_in - refunds_paid - chargebacks_paid - expenses_paid) over (
        order by month rows between unbounded preceding and current row
    )::numeric(15, 2) as cumulative_net_cash_flow,
    unconverted_items::integer as unconverted_items
from flows
