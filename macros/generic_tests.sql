{#- Generic data tests written here because `dbt deps` cannot reach the package hub. -#}

{% test unique_combination_of_columns(model, combination_of_columns) %}
    {#- Fails with one row per key combination that occurs more than once. -#}
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}


{% test values_between(model, column_name, min_value, max_value, inclusive=true) %}
    {#- Fails with every row whose value lies outside [min_value, max_value], or is null/NaN. -#}
    {%- set low = '>=' if inclusive else '>' -%}
    {%- set high = '<=' if inclusive else '<' -%}
    select *
    from {{ model }}
    where not (
        {{ column_name }} {{ low }} {{ min_value }}
        and {{ column_name }} {{ high }} {{ max_value }}
    )
    or {{ column_name }} is null
    or isnan({{ column_name }})
{% endtest %}


{% test at_most_n_rows_per_group(model, group_by_columns, n) %}
    {#- Fails with every group that has more than n rows. -#}
    select
        {{ group_by_columns | join(', ') }},
        count(*) as rows_in_group
    from {{ model }}
    group by {{ group_by_columns | join(', ') }}
    having count(*) > {{ n }}
{% endtest %}


{% test rejected_share_at_most(model, source_table, checked_model, max_share) %}
    {#- Fails (one row) when the share of `source_table` rows in `model` (the quarantine)
        among all rows of `checked_model` exceeds max_share. -#}
    with

    rejected as (
        select count(*) as rejected_rows
        from {{ model }}
        where source_table = '{{ source_table }}'
    ),

    total as (
        select count(*) as total_rows from {{ checked_model }}
    )

    select
        rejected.rejected_rows,
        total.total_rows,
        rejected.rejected_rows / greatest(total.total_rows, 1) as rejected_share,
        {{ max_share }} as max_share
    from rejected
    cross join total
    where rejected.rejected_rows / greatest(total.total_rows, 1) > {{ max_share }}
{% endtest %}


{% test expression_is_true(model, expression) %}
    {#- Fails with every row for which the boolean SQL expression is not true. -#}
    select *
    from {{ model }}
    where not coalesce({{ expression }}, false)
{% endtest %}


{% test row_count_where(model, condition, expected) %}
    {#- Fails (one row) unless exactly `expected` rows satisfy `condition`. -#}
    select count(*) as matching_rows
    from {{ model }}
    where {{ condition }}
    having count(*) != {{ expected }}
{% endtest %}
