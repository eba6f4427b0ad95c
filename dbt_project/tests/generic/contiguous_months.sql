{#
    `column_name` holds one value per calendar month and those months have no gaps from the
    first to the last: a monthly series BI can read without holes.
#}
{% test contiguous_months(model, column_name) %}
with months as (
    select {{ column_name }} as month, count(*) as rows_in_month
    from {{ model }}
    group by 1
),

gaps as (
    select
        month,
        rows_in_month,
        lag(month) over (order by month) as previous_month
    from months
)

select *
from gaps
where rows_in_month > 1
    or month <> date_trunc('month', month)::date
    or (previous_month is not null and month <> (previous_month + interval '1 month')::date)
{% endtest %}
