{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='day',
        indexes=[{'columns': ['day']}],
        meta={'test_window_column': 'day'},
    )
}}
/*
    Which users did anything in the platform on which reporting day (behaviour events): one
    row per day, tenant and user. Monthly active users count distinct users over a month's
    rows. Incremental: rebuilds the days from event_lookback_days before the latest day held.
*/
select
    {{ reporting_day('occurred_at') }} as day,
    tenant_id,
    user_id,
    count(*)::integer as events,
    min(occurred_at) as first_event_at,
    max(occurred_at) as last_event_at
from {{ ref('stg_behaviour__user_events') }}
{% if is_incremental() %}
where occurred_at >= {{ incremental_window_start('day') }}
{% endif %}
group by 1, 2, 3
