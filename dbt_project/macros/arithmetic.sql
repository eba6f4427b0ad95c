{#
    A ratio rounded to `scale` decimals, null when the denominator is 0 or null: a rate with a
    zero denominator is unknown, never 0 and never a division error (METRICS.md).
#}
{% macro safe_divide(numerator, denominator, scale=6) -%}
    round(({{ numerator }})::numeric / nullif(({{ denominator }})::numeric, 0), {{ scale }})
{%- endmacro %}

{# Months one billing cycle covers: monthly 1, quarterly 3, yearly 12. #}
{% macro months_per_cycle(billing_cycle) -%}
    case {{ billing_cycle }}
        when 'monthly' then 1
        when 'quarterly' then 3
        when 'yearly' then 12
    end
{%- endmacro %}

{#
    An amount in the reporting currency, to the cent: `amount` × `rate` (units of the
    reporting currency per unit), 1 for the reporting currency itself; null when no rate is
    known (the row is flagged by the caller, not dropped).
#}
{% macro to_reporting_currency(amount, currency, rate) -%}
    round(
        ({{ amount }}) * case
            when {{ currency }} = '{{ var("reporting_currency") }}' then 1
            else {{ rate }}
        end,
        2
    )
{%- endmacro %}
