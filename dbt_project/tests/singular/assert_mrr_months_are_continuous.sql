-- METRICS.md: this month's starting MRR (and customers) is last month's ending, and there is
-- no month missing between the first and the current one. Returns the months that break it.
with months as (
    select
        month,
        starting_mrr,
        customers_start,
        lag(month) over (order by month) as previous_month,
        lag(ending_mrr) over (order by month) as previous_ending_mrr,
        lag(customers_end) over (order by month) as previous_customers_end
    from {{ ref('mrr_movements_monthly') }}
)

select *
from months
where (previous_month is null and (starting_mrr <> 0 or customers_start <> 0))
    or (
        previous_month is not null
        and (
            month <> (previous_month + interval '1 month')::date
            or starting_mrr <> previous_ending_mrr
            or customers_start <> previous_customers_end
        )
    )
