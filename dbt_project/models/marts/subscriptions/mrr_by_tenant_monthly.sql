/*
    MRR of each tenant in each month (METRICS.md): the sum of its subscriptions' MRR at the
    month's last instant, from its first month with MRR to the current month, and the
    movement that month:
      1. previous 0, current > 0, no MRR before  -> new
      2. previous 0, current > 0, MRR before      -> reactivation
      3. previous > 0, current 0                  -> churn
      4. current > previous -> expansion; current < previous -> contraction; else unchanged
    Months at 0 after a churn stay (unchanged) until the tenant returns or the current month.
*/
with subscription_mrr as (
    select
        month,
        tenant_id,
        sum(coalesce(mrr, 0)) as mrr
    from {{ ref('int_mrr_by_subscription_monthly') }}
    group by month, tenant_id
),

first_months as (
    select
        tenant_id,
        min(month) as first_month
    from subscription_mrr
    where mrr > 0
    group by tenant_id
),

spine as (
    select
        first_months.tenant_id,
        series.month::date as month
    from first_months
    cross join lateral generate_series(
        first_months.first_month::timestamp,
        {{ as_of_month() }}::timestamp,
        interval '1 month'
    ) as series (month)
),

monthly as (
    select
        spine.month,
        spine.tenant_id,
        coalesce(subscription_mrr.mrr, 0) as mrr,
        coalesce(lag(coalesce(subscription_mrr.mrr, 0)) over (
            partition by spine.tenant_id order by spine.month
        ), 0) as previous_mrr,
        spine.month = first_months.first_month as is_first_month
    from spine
    inner join first_months on first_months.tenant_id = spine.tenant_id
    left join subscription_mrr
        on subscription_mrr.tenant_id = spine.tenant_id
        and subscription_mrr.month = spine.month
)

select
    month,
    tenant_id,
    mrr::numeric(15, 2) as mrr,
    previous_mrr::numeric(15, 2) as previous_mrr,
    (mrr - previous_mrr)::numeric(15, 2) as mrr_change,
    case
        when previous_mrr = 0 and mrr > 0 and is_first_month then 'new'
        when previous_mrr = 0 and mrr > 0 then 'reactivation'
        when previous_mrr > 0 and mrr = 0 then 'churn'
        when mrr > previous_mrr then 'expansion'
        when mrr < previous_mrr then 'contraction'
        else 'unchanged'
    end::varchar(20) as movement
from monthly
