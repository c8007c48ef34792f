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


{% test equal_row_sets(model, compare_model, columns) %}
    {#- Fails with every row (and its count) that is in one relation more often than in the
        other, over `columns`. -#}
    {%- set column_list = columns | join(', ') -%}
    with

    model_rows as (
        select {{ column_list }}, count(*) as copies from {{ model }} group by {{ column_list }}
    ),

    compared_rows as (
        select {{ column_list }}, count(*) as copies from {{ compare_model }}
        group by {{ column_list }}
    )

    select 'model' as side, * from (select * from model_rows except select * from compared_rows)
    union all
    select 'compared' as side, * from (select * from compared_rows except select * from model_rows)
{% endtest %}


{% test row_count_where(model, condition, expected) %}
    {#- Fails (one row) unless exactly `expected` rows satisfy `condition`. -#}
    select count(*) as matching_rows
    from {{ model }}
    where {{ condition }}
    having count(*) != {{ expected }}
{% endtest %}


{% test lists_follow_their_fit_scopes(model, splits, ratings, max_movies=none) %}
    {#- A recommender's lists table (purpose, carving, user_id, recommendation_rank,
        movie_id) against the protocol (python_jobs/scopes.py). Fails with one row per
        listed movie the user rated in the list's fit (`already rated`), and per user who
        should have a list but whose list is missing or has the wrong length (`wrong
        length`). Fit and users: each validation carving's training part and its validation
        users (at most tuning_max_users, the seeded sample), train + validation and the test
        users (evaluation), every validated rating and its users (serving). A full list is
        as deep as the purpose's (var top_n, blend_depth, metric_curve_max_k), or holds
        every unrated movie of the fit when fewer remain (of its `max_movies` most-rated
        movies, for a model that lists no others). -#}
    {%- set list_depth = [var('top_n'), var('blend_depth')] | max -%}
    {%- set evaluation_depth = [list_depth, var('metric_curve_max_k')] | max -%}
    with

    lists as (
        select
            case when purpose = 'validation' then concat('validation_', carving) else purpose end
                as scope,
            user_id,
            movie_id
        from {{ model }}
    ),

    fit_ratings as (
        {%- for carving in range(var('validation_carvings')) %}
        select 'validation_{{ carving }}' as scope, user_id, movie_id
        from {{ splits }}
        where split != 'test' and coalesce(validation_carving != {{ carving }}, true)
        union all
        {%- endfor %}
        select 'evaluation' as scope, user_id, movie_id from {{ splits }} where split != 'test'
        union all
        select 'serving' as scope, user_id, movie_id from {{ ratings }}
    ),

    expected_users as (
        select concat('validation_', validation_carving) as scope, user_id
        from ({{ sampled_validation_users(splits) }}) as sampled_users
        union all
        select distinct 'evaluation' as scope, user_id from {{ splits }} where split = 'test'
        union all
        select distinct 'serving' as scope, user_id from {{ ratings }}
    ),

    movie_counts as (
        select
            scope,
            movie_id,
            row_number() over (partition by scope order by count(*) desc, movie_id) as movie_rank
        from fit_ratings
        group by scope, movie_id
    ),

    candidate_movies as (
        select scope, movie_id from movie_counts
        {%- if max_movies is not none %}
        where movie_rank <= {{ max_movies }}
        {%- endif %}
    ),

    catalog_sizes as (
        select scope, count(*) as num_movies from candidate_movies group by scope
    ),

    rated_candidates as (
        select fit_ratings.scope, fit_ratings.user_id, count(*) as num_rated
        from fit_ratings
        inner join candidate_movies
            on fit_ratings.scope = candidate_movies.scope
            and fit_ratings.movie_id = candidate_movies.movie_id
        group by fit_ratings.scope, fit_ratings.user_id
    ),

    list_lengths as (
        select scope, user_id, count(*) as list_length from lists group by scope, user_id
    ),

    wrong_lengths as (
        select
            'wrong length' as problem,
            expected_users.scope,
            expected_users.user_id,
            cast(null as int) as movie_id
        from expected_users
        inner join catalog_sizes
            on expected_users.scope = catalog_sizes.scope
        left join rated_candidates
            on expected_users.scope = rated_candidates.scope
            and expected_users.user_id = rated_candidates.user_id
        left join list_lengths
            on expected_users.scope = list_lengths.scope
            and expected_users.user_id = list_lengths.user_id
        where coalesce(list_lengths.list_length, 0) != least(
            case when expected_users.scope = 'evaluation' then {{ evaluation_depth }}
                else {{ list_depth }} end,
            catalog_sizes.num_movies - coalesce(rated_candidates.num_rated, 0)
        )
    ),

    already_rated as (
        select 'already rated' as problem, lists.scope, lists.user_id, lists.movie_id
        from lists
        inner join fit_ratings
            on lists.scope = fit_ratings.scope
            and lists.user_id = fit_ratings.user_id
            and lists.movie_id = fit_ratings.movie_id
    )

    select * from wrong_lengths
    union all
    select * from already_rated
{% endtest %}


{% test every_user_has_top_n_rows(model, users, user_column='user_id') %}
    {#- Fails with every user id of `users` (null ids aside) that has not exactly top_n rows
        in the model, with the rows it has. -#}
    with

    expected_users as (

        select distinct {{ user_column }} as user_id
        from {{ users }}
        where {{ user_column }} is not null

    ),

    counts as (

        select
            {{ user_column }} as user_id,
            count(*) as num_rows
        from {{ model }}
        group by {{ user_column }}

    )

    select
        expected_users.user_id,
        coalesce(counts.num_rows, 0) as num_rows
    from expected_users
    left join counts
        on expected_users.user_id = counts.user_id
    where coalesce(counts.num_rows, 0) != {{ var('top_n') }}
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
