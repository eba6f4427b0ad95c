{#
    The TimescaleDB continuous aggregate public.<name> (migration 0009), or none: none on
    plain PostgreSQL, while parsing, with var use_continuous_aggregates false, or when the
    view's days are buckets of another time zone than var reporting_tz (its comment says
    which). `frozen`: what else the view fixed at its migration, as its comment goes on
    (`; lead_event_names=lead`), compared too. Marts read it when there is one and their own incremental SQL otherwise; both
    give the same rows. Read as a relation, not a source: on plain PostgreSQL it does not
    exist, and dbt's graph must not depend on it.
#}
{% macro timescale_rollup(name, frozen='') -%}
    {%- if not execute or not var('use_continuous_aggregates', true) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set expected = 'bcf rollup; reporting_tz=' ~ var('reporting_tz') ~ frozen -%}
    {%- set found = run_query(
        "select obj_description(c.oid, 'pg_class') from pg_class as c "
        ~ "join pg_namespace as n on n.oid = c.relnamespace "
        ~ "where n.nspname = 'public' and c.relname = '" ~ name ~ "'"
    ) -%}
    {%- if found.rows | length == 1 and found.rows[0][0] == expected -%}
        {{ return(api.Relation.create(database=target.database, schema='public', identifier=name)) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}
