/*
    Each tenant's month as the metrics read it (models/semantic/_metrics.yml): its MRR and
    movement (mrr_by_tenant_monthly) and its part of the 12-month retention cohort. A tenant
    is in a month's cohort when it had MRR > 0 twelve months before (var mrr_lookback_months);
    nrr_12m and grr_12m are then ratios of the sums of these columns.
*/
with tenant_mrr as (
    select * from {{ ref('mrr_by_tenant_monthly') }}
)

select
    current_month.month,
    current_month.tenant_id,
    current_month.mrr,
    current_month.previous_mrr,
    current_month.mrr_change,
    current_month.movement,
    cohort.mrr::numeric(15, 2) as cohort_base_mrr,
    (case when cohort.mrr is not null then current_month.mrr end)::numeric(15, 2) as cohort_mrr,
    (case when cohort.mrr is not null then least(current_month.mrr, cohort.mrr) end)::numeric(15, 2)
        as cohort_mrr_capped
from tenant_mrr as current_month
left join tenant_mrr as cohort
    on cohort.tenant_id = current_month.tenant_id
    and cohort.month = (current_month.month - interval '{{ var("mrr_lookback_months") }} months')::date
    and cohort.mrr > 0
