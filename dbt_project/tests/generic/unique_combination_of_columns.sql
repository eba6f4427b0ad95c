{#
    The columns together identify a row: no two rows share the same values (null counts as a
    value, as in GROUP BY). Project-local: dbt_utils cannot be installed here.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select
    {{ combination_of_columns | join(", ") }},
    count(*) as rows_with_these_values
from {{ model }}
group by {{ combination_of_columns | join(", ") }}
having count(*) > 1
{% endtest %}
