/*
    Exchange rates to the reporting currency for every calendar day, as the marts convert
    with them: weekends and holidays carry the last landed rate forward (is_carried_forward,
    rate_date = the day it was published); the reporting currency is 1.
*/
select
    day,
    currency::varchar(3) as currency,
    rate::numeric(18, 8) as rate,
    rate_date,
    is_carried_forward
from {{ ref('int_fx_rates_daily') }}
