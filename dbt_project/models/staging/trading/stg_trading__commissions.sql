-- One row per trade fill with the commission charged on it.
select
    id as commission_id,
    source_record_id as fill_id,
    tenant_id,
    user_id,
    trade_id,
    asset_type,
    trade_amount,
    profit_amount,
    commission_rate,
    commission_amount,
    trade_date as traded_at,
    created_at,
    ingest_batch_id
from {{ source('trading', 'trading_commissions') }}
