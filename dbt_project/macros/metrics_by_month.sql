{#
    One row per month with a column per metric of models/semantic/_metrics.yml, computed from
    the same semantic models and metric definitions MetricFlow reads (`bcf metrics`), so no
    formula is written twice. It supports what the project's metrics use, and stops the build
    on anything else rather than compute it differently from MetricFlow:
      - simple metrics: a measure (sum, count, count_distinct, average, min, max), its expr,
        fill_nulls_with; the measure's time dimension is truncated to the month;
      - ratio metrics: numerator / denominator, null when the denominator is 0;
      - derived metrics: their expr over their input metrics, by alias, with offset_window
        in months (the month n months before, null before the first month).
    No metric or input filters. The months run from the first month any semantic model has
    data to the as-of month, each joined to the spine (a month without data: null, or
    fill_nulls_with). Callers list the semantic models' dbt models as `-- depends_on: ref()`
    so dbt builds them first.
#}
{% macro metrics_by_month(metric_names) -%}
    {%- if not execute -%}
        select null::date as month
    {%- else -%}
        {%- set catalogue = _metric_catalogue() -%}
        {%- set ordered = _metrics_in_dependency_order(metric_names, catalogue.metrics) -%}
        {%- set measures_by_model = {} -%}
        {%- for metric in ordered if metric.type == 'simple' -%}
            {%- set measure_name = metric.type_params.measure.name -%}
            {%- set model_name = catalogue.model_of_measure[measure_name] -%}
            {%- set _ = measures_by_model.setdefault(model_name, []) -%}
            {%- if measure_name not in measures_by_model[model_name] -%}
                {%- set _ = measures_by_model[model_name].append(measure_name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set depths = _metric_depths(ordered, catalogue.metrics) %}
with
{%- for model_name, measure_names in measures_by_model.items() %}
{%- set semantic_model = catalogue.semantic_models[model_name] %}
{{ model_name }}_by_month as (
    select
        {%- for measure_name in measure_names %}
        {%- set measure = catalogue.measures[measure_name] %}
        {%- set time_dimension = _time_dimension_of(semantic_model, measure) %}
        {%- if loop.first %}
        date_trunc('month', {{ time_dimension.expr or time_dimension.name }})::date as month,
        {%- endif %}
        {{ _aggregate(measure) }} as measure__{{ measure_name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref(semantic_model.depends_on.nodes[0].split('.')[-1]) }}
    group by 1
),
{%- endfor %}

spine as (
    select series.month::date as month
    from generate_series(
        coalesce(least(
            {%- for model_name in measures_by_model %}
            (select min(month) from {{ model_name }}_by_month){{ ',' if not loop.last }}
            {%- endfor %}
        ), {{ as_of_month() }})::timestamp,
        {{ as_of_month() }}::timestamp,
        interval '1 month'
    ) as series (month)
),

depth_0 as (
    select
        spine.month
        {%- for metric in ordered if metric.type == 'simple' %}
        {%- set measure = metric.type_params.measure %}
        {%- set column = catalogue.model_of_measure[measure.name] ~ '_by_month.measure__' ~ measure.name %}
        , {% if measure.fill_nulls_with is not none -%}
            coalesce({{ column }}, {{ measure.fill_nulls_with }})
        {%- else -%}
            {{ column }}
        {%- endif %} as {{ metric.name }}
        {%- endfor %}
    from spine
    {%- for model_name in measures_by_model %}
    left join {{ model_name }}_by_month on {{ model_name }}_by_month.month = spine.month
    {%- endfor %}
)
{%- for depth in range(1, depths.deepest + 1) %}
{%- set metrics_here = ordered | selectattr('name', 'in', depths.names_at[depth]) | list %},

depth_{{ depth }} as (
    select
        previous.*
        {%- for metric in metrics_here %}
        , metric_{{ metric.name }}.value as {{ metric.name }}
        {%- endfor %}
    from (
        select
            depth_{{ depth - 1 }}.*
            {%- for metric in metrics_here %}
            {%- for input in _metric_inputs(metric) if input.offset_window %}
            , lag({{ input.name }}, {{ _offset_months(metric, input) }}) over (order by month)
                as {{ input.name }}__{{ _offset_months(metric, input) }}_months_before
            {%- endfor %}
            {%- endfor %}
        from depth_{{ depth - 1 }}
    ) as previous
    {%- for metric in metrics_here %}
    cross join lateral (
        select
        {%- if metric.type == 'ratio' %}
            {%- set numerator = metric.type_params.numerator %}
            {%- set denominator = metric.type_params.denominator %}
            inputs.{{ numerator.alias or numerator.name }}::numeric
                / nullif(inputs.{{ denominator.alias or denominator.name }}::numeric, 0) as value
        {%- else %}
            ({{ metric.type_params.expr }})::numeric as value
        {%- endif %}
        from (
            select
            {%- for input in _metric_inputs(metric) %}
                previous.{{ input.name }}
                {%- if input.offset_window %}__{{ _offset_months(metric, input) }}_months_before{% endif %}
                as {{ input.alias or input.name }}{{ ',' if not loop.last }}
            {%- endfor %}
        ) as inputs
    ) as metric_{{ metric.name }}
    {%- endfor %}
)
{%- endfor %}

select * from depth_{{ depths.deepest }}
    {%- endif -%}
{%- endmacro %}


{# The project's metrics, semantic models and measures by name, from the parsed graph. #}
{% macro _metric_catalogue() -%}
    {%- set catalogue = {'metrics': {}, 'semantic_models': {}, 'measures': {}, 'model_of_measure': {}} -%}
    {%- for metric in graph.metrics.values() -%}
        {%- set _ = catalogue.metrics.update({metric.name: metric}) -%}
    {%- endfor -%}
    {%- for semantic_model in graph.semantic_models.values() -%}
        {%- set _ = catalogue.semantic_models.update({semantic_model.name: semantic_model}) -%}
        {%- for measure in semantic_model.measures -%}
            {%- set _ = catalogue.measures.update({measure.name: measure}) -%}
            {%- set _ = catalogue.model_of_measure.update({measure.name: semantic_model.name}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(catalogue) }}
{%- endmacro %}


{# The input metrics of a ratio or derived metric (name, alias, offset_window). #}
{% macro _metric_inputs(metric) -%}
    {%- if metric.type == 'ratio' -%}
        {{ return([metric.type_params.numerator, metric.type_params.denominator]) }}
    {%- endif -%}
    {{ return(metric.type_params.metrics or []) }}
{%- endmacro %}


{# `names` and every metric they are made of, each after its inputs; unsupported metrics stop. #}
{% macro _metrics_in_dependency_order(names, metrics) -%}
    {%- set ordered = [] -%}
    {%- set seen = [] -%}
    {%- set pending = names | list -%}
    {#- Jinja has no recursion limit-free while loop: visit at most every metric, depth-first. -#}
    {%- for _ in range(metrics | length * metrics | length + 1) if pending -%}
        {%- set name = pending[-1] -%}
        {%- if name not in metrics -%}
            {{ exceptions.raise_compiler_error("metrics_by_month: no metric named " ~ name ~ " in models/semantic/_metrics.yml") }}
        {%- endif -%}
        {%- set metric = metrics[name] -%}
        {%- if metric.type not in ('simple', 'ratio', 'derived') or metric.filter -%}
            {{ exceptions.raise_compiler_error("metrics_by_month: metric " ~ name ~ " is of a kind it cannot compute (" ~ metric.type ~ (", filtered" if metric.filter else "") ~ ")") }}
        {%- endif -%}
        {%- set missing = [] -%}
        {%- for input in _metric_inputs(metric) -%}
            {%- if input.filter or input.offset_to_grain -%}
                {{ exceptions.raise_compiler_error("metrics_by_month: metric " ~ name ~ " has an input with a filter or offset_to_grain") }}
            {%- endif -%}
            {%- if input.name not in seen and input.name not in missing -%}
                {%- set _ = missing.append(input.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if metric.type == 'simple' and (metric.type_params.measure.filter or metric.type_params.measure.join_to_timespine) -%}
            {{ exceptions.raise_compiler_error("metrics_by_month: metric " ~ name ~ " has a measure filter or join_to_timespine") }}
        {%- endif -%}
        {%- if missing -%}
            {%- set _ = pending.extend(missing) -%}
        {%- else -%}
            {%- set _ = pending.pop() -%}
            {%- if name not in seen -%}
                {%- set _ = seen.append(name) -%}
                {%- set _ = ordered.append(metric) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(ordered) }}
{%- endmacro %}


{# Depth of each metric: 0 for simple ones, 1 + the deepest input for the others. #}
{% macro _metric_depths(ordered, metrics) -%}
    {%- set depth_of = {} -%}
    {%- set result = {'deepest': 0, 'names_at': {}} -%}
    {%- for metric in ordered -%}
        {%- set depth = [0] -%}
        {%- for input in _metric_inputs(metric) -%}
            {%- set _ = depth.append(depth_of[input.name] + 1) -%}
        {%- endfor -%}
        {%- set _ = depth_of.update({metric.name: depth | max}) -%}
        {%- set _ = result.names_at.setdefault(depth | max, []).append(metric.name) -%}
        {%- if depth | max > result.deepest -%}
            {%- set _ = result.update({'deepest': depth | max}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(result) }}
{%- endmacro %}


{# Months of an input's offset_window (only months: the rows are months). #}
{% macro _offset_months(metric, input) -%}
    {%- if input.offset_window.granularity != 'month' -%}
        {{ exceptions.raise_compiler_error("metrics_by_month: metric " ~ metric.name ~ " offsets by " ~ input.offset_window.granularity ~ ", not by months") }}
    {%- endif -%}
    {{ return(input.offset_window.count) }}
{%- endmacro %}


{# The measure's time dimension; a semi-additive measure must be additive within a month. #}
{% macro _time_dimension_of(semantic_model, measure) -%}
    {%- set name = measure.agg_time_dimension or semantic_model.defaults.agg_time_dimension -%}
    {%- set dimension = semantic_model.dimensions | selectattr('name', 'equalto', name) | first -%}
    {%- if measure.non_additive_dimension and not (
        measure.non_additive_dimension.name == name
        and dimension.type_params.time_granularity == 'month'
        and not measure.non_additive_dimension.window_groupings
    ) -%}
        {{ exceptions.raise_compiler_error("metrics_by_month: measure " ~ measure.name ~ " is non-additive over something other than its monthly time dimension") }}
    {%- endif -%}
    {{ return(dimension) }}
{%- endmacro %}


{% macro _aggregate(measure) -%}
    {%- set expr = measure.expr or measure.name -%}
    {%- set functions = {'sum': 'sum', 'count': 'count', 'average': 'avg', 'min': 'min', 'max': 'max'} -%}
    {%- if measure.agg == 'count_distinct' -%}
        count(distinct {{ expr }})
    {%- elif measure.agg in functions -%}
        {{ functions[measure.agg] }}({{ expr }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("metrics_by_month: measure " ~ measure.name ~ " aggregates by " ~ measure.agg ~ ", which it cannot compute") }}
    {%- endif -%}
{%- endmacro %}
