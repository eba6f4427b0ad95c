{{ config(meta={'test_window_column': 'occurred_at'}) }}
-- Web tracking events; the collector's metadata fields as typed columns. The IP address and
-- user agent stay behind: no model downstream needs them.
select
    id as event_id,
    created_at as occurred_at,
    session_id,
    (metadata ->> 'visitor_id')::varchar(255) as visitor_id,
    coalesce(metadata ->> 'event_type', 'pageview')::varchar(20) as event_type,
    (metadata ->> 'event_name')::varchar(100) as event_name,
    case
        when jsonb_typeof(metadata -> 'is_bot') = 'boolean' then (metadata ->> 'is_bot')::boolean
    end as is_bot,
    case
        when jsonb_typeof(metadata -> 'conversion_value') = 'number'
            then (metadata ->> 'conversion_value')::numeric(12, 2)
    end as conversion_value,
    country,
    region,
    city,
    device_type,
    browser,
    os,
    referrer,
    utm_source,
    utm_medium,
    utm_campaign,
    utm_term,
    utm_content,
    gclid,
    fbclid,
    page_url,
    page_title,
    coalesce(visit_duration, 0) as visit_duration_s,
    source_record_id,
    ingest_batch_id
from {{ source('tracking', 'visitor_tracking') }}
