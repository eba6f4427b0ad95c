-- The ledger, one row per money movement; typed fields pulled out of metadata.
select
    id as transaction_id,
    tenant_id,
    user_id,
    transaction_type,
    amount,
    upper(currency)::varchar(3) as currency,
    status,
    payment_method,
    stripe_payment_intent_id,
    stripe_charge_id,
    (metadata ->> 'revenue_type')::varchar(20) as revenue_type,
    (metadata ->> 'stripe_status')::varchar(50) as stripe_status,
    (metadata ->> 'original_charge_id')::varchar(255) as original_charge_id,
    (metadata ->> 'closed_at')::timestamptz as dispute_closed_at,
    case
        when transaction_type = 'chargeback'
            then coalesce(metadata ->> 'dispute_funds', 'withdrawn')
    end::varchar(20) as dispute_funds,
    processed_at,
    created_at,
    updated_at,
    source_record_id,
    ingest_batch_id
from {{ source('payments', 'financial_transactions') }}
