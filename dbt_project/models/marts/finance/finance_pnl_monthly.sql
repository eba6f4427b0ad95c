/*
    Monthly profit and loss in the reporting currency: gross revenue by type (revenue_daily),
    less refunds and chargebacks (on the month they happened), gives net revenue; less the
    operating expenses (finance_expenses_monthly) gives the operating profit.
    operating_margin = operating_profit / net_revenue (null when net revenue is 0).
    Items that could not be converted (no FX rate) are counted in unconverted_items and left
    out of the sums: a month with unconverted items is incomplete.
*/
with revenue as (
    select
        date_trunc('month', day)::date as month,
        coalesce(sum(gross_amount) filter (where revenue_type = 'subscription'), 0) as subscription_revenue,
        coalesce(sum(gross_amount) filter (where revenue_type = 'commission'), 0) as commission_revenue,
        coalesce(sum(gross_amount) filter (where revenue_type = 'usage'), 0) as usage_revenue,
        coalesce(sum(gross_amount) filter (where revenue_type = 'other'), 0) as other_revenue,
        coalesce(sum(refunded_amount), 0) as refunds,
        coalesce(sum(chargeback_amount), 0) as chargebacks,
        count(*) filter (where net_amount is null) as unconverted_items
    from {{ ref('revenue_daily') }}
    group by 1
),

expenses as (
    select
        month,
        coalesce(sum(amount), 0) as expenses,
        sum(unconverted_expenses) as unconverted_items
    from {{ ref('finance_expenses_monthly') }}
    group by 1
),

months as (
    select month::date as month
    from generate_series(
        coalesce(
            least((select min(month) from revenue), (select min(month) from expenses)),
            {{ as_of_month() }}
        )::timestamp,
        {{ as_of_month() }}::timestamp,
        interval '1 month'
    ) as month
),

lines as (
    select
        months.month,
        coalesce(revenue.subscription_revenue, 0) as subscription_revenue,
        coalesce(revenue.commission_revenue, 0) as commission_revenue,
        coalesce(revenue.usage_revenue, 0) as usage_revenue,
        coalesce(revenue.other_revenue, 0) as other_revenue,
        coalesce(revenue.refunds, 0) as refunds,
        coalesce(revenue.chargebacks, 0) as chargebacks,
        coalesce(expenses.expenses, 0) as expenses,
        coalesce(revenue.unconverted_items, 0) + coalesce(expenses.unconverted_items, 0)
            as unconverted_items
    from months
    left join revenue on revenue.month = months.month
    left join expenses on expenses.month = months.month
),

totals as (
    select
        *,
        subscription_revenue + commission_revenue + usage_revenue + other_revenue as gross_revenue,
        subscription_revenue + commission_revenue + usage_revenue + other_revenue
            - refunds - chargebacks as net_revenue
    from lines
)

select
    month,
    subscription_revenue::numeric(15, 2) as subscription_revenue,
    commission_revenue::numeric(15, 2) as commission_revenue,
    usage_revenue::numeric(15, 2) as usage_revenue,
    other_revenue::numeric(15, 2) as other_revenue,
    gross_revenue::numeric(15, 2) as gross_revenue,
    refunds::numeric(15, 2) as refunds,
    chargebacks::numeric(15, 2) as chargebacks,
    net_revenue::numeric(15, 2) as net_revenue,
    expenses::numeric(15, 2) as expenses,
    (net_revenue - expenses)::numeric(15, 2) as operating_profit,
    {{ safe_divide('net_revenue - expenses', 'net_revenue') }}::numeric(12, 6) as operating_margin,
    unconverted_items::integer as unconverted_items
from totals
