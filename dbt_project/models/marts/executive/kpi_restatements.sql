/*
    Every change to a closed month's KPI after it was first reported (kpi_as_reported): the
    metric, the value before and after, when, and the cause where known. A completed ingest
    batch that finished between the two reports and holds events of that month explains it
    as late data (its sources named); without one, the month was recomputed from the same
    data: a changed definition or a fixed bug. The ledger (raw.ingest_batches) is read as the
    sources' freshness rules read it, not as a dbt source: it is no data asset.
*/
with reports as (
    select
        month,
        metric,
        value,
        reported_at,
        first_value(value) over by_report as first_reported_value,
        lag(value) over by_report as old_value,
        lag(reported_at) over by_report as previously_reported_at
    from {{ ref('kpi_as_reported') }}
    window by_report as (partition by month, metric order by reported_at)
),

restated as (
    select * from reports where previously_reported_at is not null
),

late_data as (
    select
        restated.month,
        restated.metric,
        restated.reported_at,
        string_agg(distinct batches.source, ', ' order by batches.source) as sources
    from restated
    inner join raw.ingest_batches as batches
        on batches.status = 'completed'
        and batches.finished_at > restated.previously_reported_at
        and batches.finished_at <= restated.reported_at
        and batches.min_event_at < {{ day_start("restated.month + interval '1 month'") }}
        and batches.max_event_at >= {{ day_start('restated.month') }}
    group by 1, 2, 3
)

select
    restated.month,
    restated.metric,
    restated.first_reported_value,
    restated.old_value,
    restated.value as new_value,
    restated.value - restated.old_value as change,
    restated.previously_reported_at,
    restated.reported_at as restated_at,
    coalesce(
        'late data: ' || late_data.sources,
        'recomputed from the same data: a changed definition or a fix'
    ) as cause
from restated
left join late_data
    on restated.month = late_data.month
    and restated.metric = late_data.metric
    and restated.reported_at = late_data.reported_at
