/*
    Revenue per reporting day, tenant, revenue type and original currency (METRICS.md), from
    the money that moved (int_ledger_movements): payments are gross, refunds and chargebacks
    are counted on the day they happen, so a refund of a charge from a closed month changes
    that later day, never the past. A chargeback counts when its funds are withdrawn (the
    dispute opens); a won dispute's reinstatement is a negative chargeback on its own day. Amounts in the reporting currency are converted per
    movement at its day's rate, to the cent; the sum of net_amount reconciles to the ledger.
    A day and currency without a known rate keeps its row with the reporting-currency amounts
    null (flagged by a warning test), never silently 0.
*/
with movements as (
    select * from {{ ref('int_ledger_movements') }}
),

grouped as (
    select
        day,
        tenant_id,
        revenue_type,
        currency,
        bool_or(fx_missing) as fx_missing,
        coalesce(sum(amount) filter (where transaction_type = 'payment'), 0) as gross_amount_original,
        coalesce(sum(amount_converted) filter (where transaction_type = 'payment'), 0) as gross_amount,
        coalesce(sum(amount_converted) filter (where transaction_type = 'refund'), 0) as refunded_amount,
        -- withdrawn − reinstated: signed_amount_converted is − for money out.
        coalesce(-sum(signed_amount_converted) filter (where transaction_type = 'chargeback'), 0)
            as chargeback_amount,
        count(*) as transactions
    from movements
    group by day, tenant_id, revenue_type, currency
)

select
    day,
    tenant_id,
    revenue_type,
    currency::varchar(3) as currency_original,
    gross_amount_original::numeric(15, 2) as gross_amount_original,
    case when not fx_missing then gross_amount end::numeric(15, 2) as gross_amount,
    case when not fx_missing then refunded_amount end::numeric(15, 2) as refunded_amount,
    case when not fx_missing then chargeback_amount end::numeric(15, 2) as chargeback_amount,
    case
        when not fx_missing then gross_amount - refunded_amount - chargeback_amount
    end::numeric(15, 2) as net_amount,
    transactions::integer as transactions
from grouped
