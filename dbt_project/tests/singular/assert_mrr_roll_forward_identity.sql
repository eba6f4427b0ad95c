-- METRICS.md: ending_mrr = starting_mrr + new + expansion + reactivation − contraction − churned,
-- every month, to the cent. Returns the months where it does not hold.
select
    month,
    starting_mrr,
    new_mrr,
    expansion_mrr,
    reactivation_mrr,
    contraction_mrr,
    churned_mrr,
    ending_mrr,
    starting_mrr + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr
        as rolled_forward
from {{ ref('mrr_movements_monthly') }}
where ending_mrr
    <> starting_mrr + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr
