-- Daily rates: units of the reporting currency for one unit of `currency`.
select
    rate_date,
    upper(currency)::varchar(3) as currency,
    rate,
    ingested_at,
    ingest_batch_id
from {{ source('fx_rates', 'fx_rates') }}
