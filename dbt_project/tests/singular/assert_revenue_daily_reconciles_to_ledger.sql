-- Dagster shows this test as an asset check on revenue_daily (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'revenue_daily'}}}) }}

/*
    revenue_daily reconciles to the ledger (public.financial_transactions) to the cent
    (METRICS.md): completed payments − refunds − chargebacks + reinstated chargebacks, whatever their revenue type
    (subscription, commission, usage, other), recomputed here straight from the ledger:
    - per original currency, in that currency: Σ payments = Σ gross_amount_original;
    - in the reporting currency: Σ net_amount = Σ (± each movement × its day's rate, to the
      cent), over the movements that have a rate (the others are flagged by warning tests).
    Returns a row per currency that does not reconcile.
*/
with ledger as (
    select
        ledger.currency,
        ledger.transaction_type,
        ledger.amount,
        case
            when ledger.transaction_type = 'payment' or ledger.dispute_funds = 'reinstated' then 1
            else -1
        end as direction,
        coalesce(ledger.processed_at, ledger.created_at) as moved_at
    from {{ ref('stg_payments__financial_transactions') }} as ledger
    where ledger.status = 'completed'
        and ledger.transaction_type in ('payment', 'refund', 'chargeback')
),

ledger_converted as (
    select
        ledger.currency,
        sum(ledger.amount) filter (where ledger.transaction_type = 'payment') as payments_original,
        sum(
            ledger.direction
            * round(
                ledger.amount
                * case when ledger.currency = '{{ var("reporting_currency") }}' then 1 else rates.rate end,
                2
            )
        ) as net_converted
    from ledger
    left join {{ ref('int_fx_rates_daily') }} as rates
        on rates.currency = ledger.currency
        and rates.day = {{ reporting_day('ledger.moved_at') }}
    group by ledger.currency
),

mart as (
    select
        currency_original as currency,
        sum(gross_amount_original) as payments_original,
        sum(net_amount) as net_converted
    from {{ ref('revenue_daily') }}
    group by currency_original
)

select
    coalesce(ledger_converted.currency, mart.currency) as currency,
    ledger_converted.payments_original as ledger_payments_original,
    mart.payments_original as mart_payments_original,
    ledger_converted.net_converted as ledger_net,
    mart.net_converted as mart_net
from ledger_converted
full outer join mart on mart.currency = ledger_converted.currency
where coalesce(ledger_converted.payments_original, 0) <> coalesce(mart.payments_original, 0)
    or coalesce(ledger_converted.net_converted, 0) <> coalesce(mart.net_converted, 0)
