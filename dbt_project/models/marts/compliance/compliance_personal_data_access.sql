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
    Every access to personal data: one row per audit event on a resource that holds personal
    data (var pii_resources): who (pseudonymised), when, what they did (read, change,
    erasure), to whose record (pseudonymised resource id), which fields changed (names only,
    never values). People appear only as keyed hashes (macro pseudonymise).
    Incremental: rebuilds the days from event_lookback_days before the latest day held.
*/
select
    audit_event_id,
    occurred_at,
    {{ reporting_day('occurred_at') }} as day,
    tenant_id,
    {{ pseudonymise('user_id') }}::varchar(64) as actor_pseudonym,
    user_id is null as is_system_actor,
    action::varchar(100) as action,
    {{ personal_data_access_kind('action') }}::varchar(10) as access_kind,
    resource::varchar(100) as resource,
    {{ pseudonymise('resource_id') }}::varchar(64) as record_pseudonym,
    array(
        select distinct field
        from (
            select jsonb_object_keys(case when jsonb_typeof(new_values) = 'object' then new_values else '{}'::jsonb end) as field
            union
            select jsonb_object_keys(case when jsonb_typeof(old_values) = 'object' then old_values else '{}'::jsonb end)
        ) as fields
        order by field
    )::text[] as changed_fields,
    {{ pseudonymise('host(ip_address)') }}::varchar(64) as ip_pseudonym
from {{ ref('stg_audit__audit_events') }}
where lower(resource) in {{ sql_list(var('pii_resources')) }}
{% if is_incremental() %}
    and occurred_at >= {{ incremental_window_start('day') }}
{% endif %}
