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

{#
    Decimal places of a currency's minor unit as Stripe counts them (ingestion's
    stripe_objects.CURRENCY_EXPONENTS): 0 for zero-decimal currencies, 3 or 4 for the few
    that have them, else 2. `code` is an upper-case ISO code.
#}
{% macro stripe_currency_exponent(code) -%}
    case
        when {{ code }} in (
            'BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'UYI',
            'VND', 'VUV', 'XAF', 'XOF', 'XPF'
        ) then 0
        when {{ code }} in ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') then 3
        when {{ code }} in ('CLF', 'UYW') then 4
        else 2
    end
{%- endmacro %}

{# Months a recurring price's interval covers: month × interval_count, year × 12 × count. #}
{% macro months_per_interval(interval, interval_count) -%}
    (case {{ interval }} when 'month' then 1 when 'year' then 12 end * {{ interval_count }})
{%- endmacro %}
