/*
    The CEO's monthly KPIs (METRICS.md), one row per month from the first month with any
    MRR, revenue, tenant or activity to the current month.

    Rates are ratios of sums, rounded to 6 decimals, and null when their denominator is 0
    (never 0, never an error):
      customer_churn_rate  = churned_customers / customers_start
      gross_mrr_churn_rate = (churned_mrr + contraction_mrr) / starting_mrr
      net_mrr_churn_rate   = (churned_mrr + contraction_mrr − expansion_mrr − reactivation_mrr)
                             / starting_mrr
      nrr_12m = Σ current MRR of the tenants with MRR > 0 twelve months before / Σ their MRR then
      grr_12m = the same with each tenant's current MRR capped at its MRR then
    arpa = mrr / active_customers; ltv = arpa / the average customer_churn_rate of this and
    the previous two months (null when that average is 0 or unknown).
*/
with movements as (
    select * from {{ ref('mrr_movements_monthly') }}
),

tenant_mrr as (
    select * from {{ ref('mrr_by_tenant_monthly') }}
),

revenue as (
    select
        date_trunc('month', day)::date as month,
        sum(gross_amount) as gross_revenue,
        sum(refunded_amount) as refunds,
        sum(chargeback_amount) as chargebacks,
        sum(net_amount) as net_revenue,
        coalesce(sum(net_amount) filter (where revenue_type = 'commission'), 0) as commission_revenue,
        coalesce(sum(net_amount) filter (where revenue_type = 'usage'), 0) as usage_revenue
    from {{ ref('revenue_daily') }}
    group by 1
),

new_tenants as (
    select
        {{ reporting_month('created_at') }} as month,
        count(*) as new_tenants
    from {{ ref('stg_platform__tenants') }}
    group by 1
),

active_users as (
    select
        date_trunc('month', day)::date as month,
        count(distinct user_id) as monthly_active_users
    from {{ ref('int_user_activity_daily') }}
    group by 1
),

net_retention as (
    select
        current_month.month,
        sum(current_month.mrr) as retained_mrr,
        sum(least(current_month.mrr, base.mrr)) as retained_mrr_capped,
        sum(base.mrr) as base_mrr
    from tenant_mrr as current_month
    inner join tenant_mrr as base
        on base.tenant_id = current_month.tenant_id
        and base.month = (current_month.month - interval '{{ var("mrr_lookback_months") }} months')::date
        and base.mrr > 0
    group by current_month.month
),

bounds as (
    select least(
        (select min(month) from movements),
        (select min(month) from revenue),
        (select min(month) from new_tenants),
        (select min(month) from active_users)
    ) as first_month
),

months as (
    select series.month::date as month
    from bounds
    cross join lateral generate_series(
        coalesce(bounds.first_month, {{ as_of_month() }})::timestamp,
        {{ as_of_month() }}::timestamp,
        interval '1 month'
    ) as series (month)
),

kpis as (
    select
        months.month,
        coalesce(movements.ending_mrr, 0) as mrr,
        coalesce(movements.customers_end, 0) as active_customers,
        coalesce(movements.new_customers, 0) as new_customers,
        coalesce(movements.churned_customers, 0) as churned_customers,
        coalesce(movements.customers_start, 0) as customers_start,
        coalesce(movements.starting_mrr, 0) as starting_mrr,
        coalesce(movements.churned_mrr, 0) as churned_mrr,
        coalesce(movements.contraction_mrr, 0) as contraction_mrr,
        coalesce(movements.expansion_mrr, 0) as expansion_mrr,
        coalesce(movements.reactivation_mrr, 0) as reactivation_mrr,
        net_retention.retained_mrr,
        net_retention.retained_mrr_capped,
        net_retention.base_mrr,
        coalesce(revenue.gross_revenue, 0) as gross_revenue,
        coalesce(revenue.refunds, 0) as refunds,
        coalesce(revenue.chargebacks, 0) as chargebacks,
        coalesce(revenue.net_revenue, 0) as net_revenue,
        coalesce(revenue.commission_revenue, 0) as commission_revenue,
        coalesce(revenue.usage_revenue, 0) as usage_revenue,
        coalesce(new_tenants.new_tenants, 0) as new_tenants,
        coalesce(active_users.monthly_active_users, 0) as monthly_active_users
    from months
    left join movements on movements.month = months.month
    left join net_retention on net_retention.month = months.month
    left join revenue on revenue.month = months.month
    left join new_tenants on new_tenants.month = months.month
    left join active_users on active_users.month = months.month
),

rates as (
    select
        *,
        mrr / nullif(active_customers, 0) as arpa_exact,
        churned_customers::numeric / nullif(customers_start, 0) as churn_rate_exact
    from kpis
),

smoothed as (
    select
        *,
        avg(churn_rate_exact) over (
            order by month
            rows between {{ var("ltv_churn_window_months") - 1 }} preceding and current row
        ) as trailing_churn_rate
    from rates
)

select
    month,
    mrr::numeric(15, 2) as mrr,
    (mrr * 12)::numeric(15, 2) as arr,
    active_customers::integer as active_customers,
    round(arpa_exact, 2)::numeric(15, 2) as arpa,
    new_customers::integer as new_customers,
    churned_customers::integer as churned_customers,
    round(churn_rate_exact, 6)::numeric(12, 6) as customer_churn_rate,
    {{ safe_divide('churned_mrr + contraction_mrr', 'starting_mrr') }}::numeric(12, 6)
        as gross_mrr_churn_rate,
    {{ safe_divide('churned_mrr + contraction_mrr - expansion_mrr - reactivation_mrr', 'starting_mrr') }}::numeric(12, 6)
        as net_mrr_churn_rate,
    {{ safe_divide('retained_mrr', 'base_mrr') }}::numeric(12, 6) as nrr_12m,
    {{ safe_divide('retained_mrr_capped', 'base_mrr') }}::numeric(12, 6) as grr_12m,
    round(arpa_exact / nullif(trailing_churn_rate, 0), 2)::numeric(15, 2) as ltv,
    gross_revenue::numeric(15, 2) as gross_revenue,
    refunds::numeric(15, 2) as refunds,
    chargebacks::numeric(15, 2) as chargebacks,
    net_revenue::numeric(15, 2) as net_revenue,
    commission_revenue::numeric(15, 2) as commission_revenue,
    usage_revenue::numeric(15, 2) as usage_revenue,
    new_tenants::integer as new_tenants,
    monthly_active_users::integer as monthly_active_users
from smoothed
