-- Operating expenses, one row per expense.
select
    id as expense_id,
    source_record_id,
    expense_date,
    category,
    vendor,
    amount,
    upper(currency)::varchar(3) as currency,
    description,
    ingested_at,
    ingest_batch_id
from {{ source('expenses', 'expenses') }}
