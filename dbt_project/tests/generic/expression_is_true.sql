{#
    Every row satisfies `expression` (a SQL boolean over the model's columns); a null result
    fails too. Narrow the rows with the test's `where` config. On a column, the column is only
    where the test is listed: the expression names what it checks.
#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
