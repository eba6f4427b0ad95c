{#
    Incremental event models (delete+insert on their day column) rebuild every day from
    `event_lookback_days` before the latest day they hold, so events that arrive late are
    counted; the result equals a full refresh. Returns the instant (timestamptz) that window
    starts: local midnight of (latest day − lookback), or -infinity for an empty table.
#}
{% macro incremental_window_start(day_column="day", relation=none) -%}
    {%- set target_relation = relation if relation is not none else this -%}
    coalesce(
        (select {{ day_start("max(" ~ day_column ~ ") - " ~ var("event_lookback_days")) }}
         from {{ target_relation }}),
        '-infinity'::timestamptz
    )
{%- endmacro %}
