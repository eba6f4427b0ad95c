/*
    One rate per currency and calendar day, from the currency's first landed rate to today
    (reporting time zone): a day without a rate (weekend, holiday, not yet published) carries
    the last known rate forward. The reporting currency is 1 on every day of the span.
    Days before a currency's first rate have no row: amounts on those days cannot be
    converted and are flagged where they are used.
*/
with rates as (
    select rate_date, currency, rate
    from {{ ref('stg_fx_rates__fx_rates') }}
    where currency <> '{{ var("reporting_currency") }}'
),

spans as (
    select
        currency,
        min(rate_date) as first_day,
        greatest(max(rate_date), {{ as_of_day() }}) as last_day
    from rates
    group by currency
),

days as (
    select
        spans.currency,
        series.day::date as day
    from spans
    cross join lateral generate_series(
        spans.first_day::timestamp, spans.last_day::timestamp, interval '1 day'
    ) as series (day)
),

filled as (
    select
        days.day,
        days.currency,
        rates.rate,
        rates.rate_date,
        -- Days since the last landed rate share its group number.
        count(rates.rate_date) over (
            partition by days.currency order by days.day
        ) as rate_group
    from days
    left join rates
        on rates.currency = days.currency
        and rates.rate_date = days.day
),

carried as (
    select
        day,
        currency,
        first_value(rate) over same_rate as rate,
        first_value(rate_date) over same_rate as rate_date
    from filled
    window same_rate as (partition by currency, rate_group order by day)
),

reporting_days as (
    select day::date as day
    from generate_series(
        coalesce((select min(first_day) from spans), {{ as_of_day() }})::timestamp,
        {{ as_of_day() }}::timestamp,
        interval '1 day'
    ) as day
)

select
    day,
    currency::varchar(3) as currency,
    rate::numeric(18, 8) as rate,
    rate_date,
    rate_date < day as is_carried_forward
from carried

union all

select
    day,
    '{{ var("reporting_currency") }}'::varchar(3) as currency,
    1::numeric(18, 8) as rate,
    day as rate_date,
    false as is_carried_forward
from reporting_days
