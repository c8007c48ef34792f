{#-
    The cosine seed's movie-pair self-join, written once: int_movie_pairs (all validated
    ratings) and the item-kNN SQL models (their fit scopes' ratings) call it.
-#}

{% macro movie_pair_self_join(ratings, min_raters, carried_columns=['rating']) %}
    {#-
        The cosine seed's self-join as one query over the relation or CTE `ratings` (columns
        user_id, movie_id and `carried_columns`): every pair of movies rated by the same
        user, movie1 < movie2, with each carried column of both ratings as <column>1 and
        <column>2. Movies with fewer than `min_raters` ratings are left out before the join.
        Join plan (var `pair_join`, checked at parse time): with 'broadcast', the left side is
        hash-partitioned by movie into `pair_partitions` tasks and the right side broadcast,
        so every pair of a given movie1 is produced in one task and an aggregation by pair
        needs no second shuffle; 'shuffle' when the eligible ratings do not fit in executor
        memory.
    -#}
    with

    eligible_movies as (

        select movie_id
        from {{ ratings }}
        group by movie_id
        having count(*) >= {{ min_raters }}

    ),

    eligible_ratings as (

        select
            user_id,
            movie_id,
            {{ carried_columns | join(', ') }}
        from {{ ratings }}
        left semi join eligible_movies
            on {{ ratings }}.movie_id = eligible_movies.movie_id

    ),

    first_ratings_by_movie as (

        select {% if var('pair_join') == 'broadcast' -%}
            /*+ repartition({{ var('pair_partitions') }}, movie_id) */
        {%- endif %}
            eligible_ratings.*
        from eligible_ratings

    ),

    pairs as (

        select {% if var('pair_join') == 'broadcast' %}/*+ broadcast(second_rating) */{% endif %}
            first_rating.movie_id as movie1_id,
            second_rating.movie_id as movie2_id,
            {%- for column in carried_columns %}
            first_rating.{{ column }} as {{ column }}1,
            second_rating.{{ column }} as {{ column }}2{{ ',' if not loop.last }}
            {%- endfor %}
        from first_ratings_by_movie as first_rating
        inner join eligible_ratings as second_rating
            on
                first_rating.user_id = second_rating.user_id
                and first_rating.movie_id < second_rating.movie_id

    )

    select * from pairs
{% endmacro %}

{% macro cosine_pair_aggregates(pairs) %}
    {#-
        The cosine seed's pair aggregates over `pairs` (a relation or CTE with movie1_id,
        movie2_id, rating1, rating2): co-rater count, the three sums of the cosine formula
        and the score sum_xy / (sqrt(sum_xx) * sqrt(sum_yy)), one row per co-rated pair.
        int_movie_pair_scores (every validated rating) and int_training_movie_pair_scores
        (the training split) call it.
    -#}
    with

    aggregated as (

        select
            movie1_id,
            movie2_id,
            count(*) as num_pairs,
            sum(rating1 * rating2) as sum_xy,
            sum(rating1 * rating1) as sum_xx,
            sum(rating2 * rating2) as sum_yy
        from {{ pairs }}
        group by movie1_id, movie2_id

    ),

    scored as (

        select
            *,
            sum_xy / (sqrt(sum_xx) * sqrt(sum_yy)) as score
        from aggregated

    )

    select * from scored
{% endmacro %}
