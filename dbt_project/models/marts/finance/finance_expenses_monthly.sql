/*
    Operating expenses per reporting month, category and original currency, converted to the
    reporting currency at the rate of each expense's day, to the cent per expense. A month and
    currency with an expense on a day without a known rate keeps its row with amount null and
    the unconverted expenses counted (flagged, not dropped).
*/
with expenses as (
    select * from {{ ref('stg_expenses__expenses') }}
),

fx as (
    select * from {{ ref('int_fx_rates_daily') }}
),

converted as (
    select
        date_trunc('month', expenses.expense_date)::date as month,
        expenses.category,
        expenses.currency,
        expenses.amount,
        {{ to_reporting_currency("expenses.amount", "expenses.currency", "fx.rate") }} as amount_converted,
        expenses.currency <> '{{ var("reporting_currency") }}' and fx.rate is null as fx_missing
    from expenses
    left join fx
        on fx.currency = expenses.currency
        and fx.day = expenses.expense_date
)

select
    month,
    category::varchar(50) as category,
    currency::varchar(3) as currency_original,
    count(*)::integer as expenses,
    sum(amount)::numeric(15, 2) as amount_original,
    case when not bool_or(fx_missing) then sum(amount_converted) end::numeric(15, 2) as amount,
    count(*) filter (where fx_missing)::integer as unconverted_expenses
from converted
group by month, category, currency
