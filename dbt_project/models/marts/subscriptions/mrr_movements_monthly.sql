/*
    The MRR roll-forward per month (METRICS.md), from mrr_by_tenant_monthly:
    ending = starting + new + expansion + reactivation − contraction − churned, where
    contraction and churned are positive amounts, and each month starts where the previous
    one ended. Customers are tenants with MRR > 0.
*/
with tenants as (
    select * from {{ ref('mrr_by_tenant_monthly') }}
)

select
    month,
    sum(previous_mrr)::numeric(15, 2) as starting_mrr,
    coalesce(sum(mrr_change) filter (where movement = 'new'), 0)::numeric(15, 2) as new_mrr,
    coalesce(sum(mrr_change) filter (where movement = 'expansion'), 0)::numeric(15, 2)
        as expansion_mrr,
    coalesce(sum(mrr_change) filter (where movement = 'reactivation'), 0)::numeric(15, 2)
        as reactivation_mrr,
    coalesce(-sum(mrr_change) filter (where movement = 'contraction'), 0)::numeric(15, 2)
        as contraction_mrr,
    coalesce(-sum(mrr_change) filter (where movement = 'churn'), 0)::numeric(15, 2)
        as churned_mrr,
    sum(mrr)::numeric(15, 2) as ending_mrr,
    count(*) filter (where previous_mrr > 0)::integer as customers_start,
    count(*) filter (where movement = 'new')::integer as new_customers,
    count(*) filter (where movement = 'reactivation')::integer as reactivated_customers,
    count(*) filter (where movement = 'churn')::integer as churned_customers,
    count(*) filter (where mrr > 0)::integer as customers_end
from tenants
group by month
