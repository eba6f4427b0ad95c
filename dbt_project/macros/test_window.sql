{#
    Data tests of the large event models can look at their recent rows only, for the runs
    after ingestion: an incremental run rewrites only the days from event_lookback_days
    before the latest day, so testing those is testing everything the run wrote, and the
    tests then cost in proportion to the new data instead of the history.

    A model opts in with `meta: {test_window_column: <date or timestamptz column>}`. When env
    BCF_DBT_TEST_WINDOW_DAYS is a number N, each data test of such a model reads only its rows
    with that column on or after (its latest value − N days), as a date; unset or empty (the
    default, and the daily build), tests read every row. dbt wraps the tested relation with
    this macro (its `where` config included), so it overrides dbt's own.

    An env var, not a --vars value: a changed var makes dbt parse the whole project again, and
    this is read when the tests run, not when they are parsed.
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set window_column = test_window_column() -%}
    {%- if window_column -%}
        {%- do conditions.append(
            window_column ~ ' >= ((select max(' ~ window_column ~ ') from ' ~ relation
            ~ ") - interval '" ~ test_window_days() ~ " days')::date"
        ) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro test_window_days() -%}
    {%- set days = env_var('BCF_DBT_TEST_WINDOW_DAYS', '') | trim -%}
    {%- if days and not days.isdigit() -%}
        {{ exceptions.raise_compiler_error(
            'BCF_DBT_TEST_WINDOW_DAYS must be a whole number of days, not ' ~ days) }}
    {%- endif -%}
    {{ return(days | int if days else none) }}
{%- endmacro %}

{# The column the running test's model limits its tests by, or none (every row). #}
{% macro test_window_column() -%}
    {%- if not execute or test_window_days() is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.get('attached_node') or '') -%}
    {{ return((tested or {}).get('config', {}).get('meta', {}).get('test_window_column')) }}
{%- endmacro %}
