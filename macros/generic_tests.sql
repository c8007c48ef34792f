{#- Generic data tests written here because `dbt deps` cannot reach the package hub. -#}

{% test unique_combination_of_columns(model, combination_of_columns, small_groups=false) %}
    {#- Fails with one row per key combination that occurs more than once.
        small_groups: for keys whose leading columns each hold few rows (a movie's pairs, a
        user's ratings). The rows are grouped by the leading columns alone, and a group fails
        when its values of the last column repeat: one row per group crosses the shuffle
        instead of one per row (docs/benchmarks.md). Only the failing groups are then counted
        key by key, so the failures are the same rows either way. -#}
    {%- set key = combination_of_columns | join(', ') -%}
    {%- if small_groups and combination_of_columns | length > 1 %}
    {%- set leading = combination_of_columns[:-1] -%}
    {%- set last = combination_of_columns[-1] -%}
    {%- set qualified = [] -%}
    {%- for column in combination_of_columns -%}
        {%- do qualified.append('model_rows.' ~ column) -%}
    {%- endfor %}
    with

    repeating_groups as (
        select {{ leading | join(', ') }}
        from {{ model }}
        group by {{ leading | join(', ') }}
        having
            count({{ last }}) != size(array_distinct(collect_list({{ last }})))
            or count(*) - count({{ last }}) > 1
    )

    {#- The failing groups are broadcast, so that none found (the rule) ends the query
        without reading the rows again. #}
    select /*+ broadcast(repeating_groups) */
        {{ qualified | join(', ') }},
        count(*) as occurrences
    from {{ model }} as model_rows
    inner join repeating_groups
        on
        {%- for column in leading %}
            {{ 'and ' if not loop.first }}model_rows.{{ column }} <=> repeating_groups.{{ column }}
        {%- endfor %}
    group by {{ qualified | join(', ') }}
    having count(*) > 1
    {%- else %}
    select
        {{ key }},
        count(*) as occurrences
    from {{ model }}
    group by {{ key }}
    having count(*) > 1
    {%- endif %}
{% endtest %}


{% test values_between(
    model, column_name, min_value, max_value, inclusive=true, allow_null=false
) %}
    {#- Fails with every row whose value lies outside [min_value, max_value], or is NaN, or is
        null unless allow_null. -#}
    {%- set low = '>=' if inclusive else '>' -%}
    {%- set high = '<=' if inclusive else '<' -%}
    select *
    from {{ model }}
    where not (
        {{ column_name }} {{ low }} {{ min_value }}
        and {{ column_name }} {{ high }} {{ max_value }}
    )
    {%- if not allow_null %}
    or {{ column_name }} is null
    {%- endif %}
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


{% test every_movie_has_n_rows(model, movies, n) %}
    {#- Fails with every movie of `movies` that has not exactly n rows in `model`. -#}
    with

    row_counts as (
        select
            movie_id,
            count(*) as num_rows
        from {{ model }}
        group by movie_id
    )

    select
        movies.movie_id,
        coalesce(row_counts.num_rows, 0) as num_rows
    from {{ movies }} as movies
    left join row_counts
        on movies.movie_id = row_counts.movie_id
    where coalesce(row_counts.num_rows, 0) != {{ n }}
{% endtest %}
