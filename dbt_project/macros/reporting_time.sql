{#
    Days and months are buckets in the reporting time zone (var reporting_tz). Every
    timestamp in the database is timestamptz, so the session's own time zone never matters:
    these macros always convert explicitly.
#}

{# The reporting day (date) of a timestamptz. #}
{% macro reporting_day(ts) -%}
    (({{ ts }}) at time zone '{{ var("reporting_tz") }}')::date
{%- endmacro %}

{# The reporting month (first day, date) of a timestamptz. #}
{% macro reporting_month(ts) -%}
    date_trunc('month', ({{ ts }}) at time zone '{{ var("reporting_tz") }}')::date
{%- endmacro %}

{# The instant (timestamptz) a reporting day starts: local midnight of a date. #}
{% macro day_start(day) -%}
    ((({{ day }})::date)::timestamp at time zone '{{ var("reporting_tz") }}')
{%- endmacro %}

{# "Now": var as_of (an ISO timestamp with zone) when set, else the transaction's now(). #}
{% macro as_of() -%}
    {%- set value = var("as_of", "") -%}
    {%- if value -%}
        ('{{ value }}'::timestamptz)
    {%- else -%}
        now()
    {%- endif -%}
{%- endmacro %}

{# The reporting day and month of "now". #}
{% macro as_of_day() -%}
    {{ reporting_day(as_of()) }}
{%- endmacro %}

{% macro as_of_month() -%}
    {{ reporting_month(as_of()) }}
{%- endmacro %}
