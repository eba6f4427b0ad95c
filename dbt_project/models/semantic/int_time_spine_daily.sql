/*
    One row per day, the time spine MetricFlow joins to for offsets (ltv's trailing churn) and
    for months without data. It spans far beyond any data the platform can hold.
*/
select series.day::date as date_day
from generate_series('2000-01-01'::timestamp, '2050-12-31'::timestamp, interval '1 day')
    as series (day)
