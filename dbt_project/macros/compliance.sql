{# A SQL list of quoted strings from a list var: ('a', 'b'). #}
{% macro sql_list(values) -%}
    ({%- for value in values -%}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%})
{%- endmacro %}

{#
    What an audited action did to personal data: erasure (var erasure_actions, or delete),
    read (var pii_read_actions) or change (anything else).
#}
{% macro personal_data_access_kind(action) -%}
    case
        when lower({{ action }}) in {{ sql_list(var('erasure_actions')) }} or lower({{ action }}) = 'delete'
            then 'erasure'
        when lower({{ action }}) in {{ sql_list(var('pii_read_actions')) }} then 'read'
        else 'change'
    end
{%- endmacro %}
