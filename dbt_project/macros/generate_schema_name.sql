{#
    Models land exactly in the schema their folder names (staging, intermediate, marts),
    never in "<target schema>_<schema>": the migration creates those three schemas for dbt.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
