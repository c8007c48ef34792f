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


{% macro movie_pair_scores_update(existing, covered_through) %}
    {#-
        int_movie_pair_scores' incremental update (macros/incremental_sums.sql): the whole new
        table from the `existing` one, which covers the ratings as they were after the file
        with load key `covered_through`. Exact: the sums are sums of products of half stars,
        multiples of 0.25 that doubles hold exactly, so subtracting a contribution leaves
        what a full build computes. For every pair of movies that are eligible now (at least
        `min_co_raters` raters):
          existing row
          - the pairs of the changed users' ratings before (movies eligible before)
          + the pairs of the changed users' ratings now
          + for a movie that became eligible, its pairs with the unchanged users' ratings
            (the existing table left it out);
        a pair whose co-raters are all gone is dropped. The changed users are those with a
        rating from a file loaded after `covered_through`: a new or a replacing rating.
    -#}
    {%- set min_raters = var('min_co_raters') -%}
    {%- set after_covered = 'loaded_in > ' ~ sql_string_literal(covered_through) -%}
    with

    ratings_now as (

        select user_id, movie_id, rating, loaded_in
        from {{ ref('int_ratings_validated') }}

    ),

    ratings_before as (

        select user_id, movie_id, rating
        from {{ ref('int_rating_versions') }}
        where {{ rating_as_of_condition(covered_through) }}

    ),

    changed_users as (

        select distinct user_id
        from ratings_now
        where {{ after_covered }}

    ),

    eligible_now as (

        select movie_id from ratings_now
        group by movie_id
        having count(*) >= {{ min_raters }}

    ),

    eligible_before as (

        select movie_id from ratings_before
        group by movie_id
        having count(*) >= {{ min_raters }}

    ),

    newly_eligible as (

        select movie_id from eligible_now
        left anti join eligible_before
            on eligible_now.movie_id = eligible_before.movie_id

    ),

    removed as (

        select ratings_before.*
        from ratings_before
        left semi join changed_users
            on ratings_before.user_id = changed_users.user_id
        left semi join eligible_before
            on ratings_before.movie_id = eligible_before.movie_id

    ),

    added as (

        select ratings_now.user_id, ratings_now.movie_id, ratings_now.rating
        from ratings_now
        left semi join changed_users
            on ratings_now.user_id = changed_users.user_id
        left semi join eligible_now
            on ratings_now.movie_id = eligible_now.movie_id

    ),

    unchanged as (

        select ratings_now.user_id, ratings_now.movie_id, ratings_now.rating
        from ratings_now
        left anti join changed_users
            on ratings_now.user_id = changed_users.user_id
        left semi join eligible_now
            on ratings_now.movie_id = eligible_now.movie_id

    ),

    unchanged_on_newly_eligible as (

        select unchanged.*
        from unchanged
        left semi join newly_eligible
            on unchanged.movie_id = newly_eligible.movie_id

    ),

    contributions as (

        select
            first_rating.movie_id as movie1_id,
            second_rating.movie_id as movie2_id,
            -1 as sign,
            first_rating.rating as rating1,
            second_rating.rating as rating2
        from removed as first_rating
        inner join removed as second_rating
            on
                first_rating.user_id = second_rating.user_id
                and first_rating.movie_id < second_rating.movie_id

        union all

        select
            first_rating.movie_id as movie1_id,
            second_rating.movie_id as movie2_id,
            1 as sign,
            first_rating.rating as rating1,
            second_rating.rating as rating2
        from added as first_rating
        inner join added as second_rating
            on
                first_rating.user_id = second_rating.user_id
                and first_rating.movie_id < second_rating.movie_id

        union all

        -- a pair of two newly eligible movies comes once: from its smaller movie id
        select
            least(new_rating.movie_id, other_rating.movie_id) as movie1_id,
            greatest(new_rating.movie_id, other_rating.movie_id) as movie2_id,
            1 as sign,
            case
                when new_rating.movie_id < other_rating.movie_id then new_rating.rating
                else other_rating.rating
            end as rating1,
            case
                when new_rating.movie_id < other_rating.movie_id then other_rating.rating
                else new_rating.rating
            end as rating2
        from unchanged_on_newly_eligible as new_rating
        inner join unchanged as other_rating
            on
                new_rating.user_id = other_rating.user_id
                and new_rating.movie_id != other_rating.movie_id
        left join newly_eligible as other_newly_eligible
            on other_rating.movie_id = other_newly_eligible.movie_id
        where
            other_newly_eligible.movie_id is null
            or new_rating.movie_id < other_rating.movie_id

    ),

    changes as (

        select
            movie1_id,
            movie2_id,
            sum(sign) as num_pairs,
            sum(sign * rating1 * rating2) as sum_xy,
            sum(sign * rating1 * rating1) as sum_xx,
            sum(sign * rating2 * rating2) as sum_yy
        from contributions
        group by movie1_id, movie2_id

    ),

    summed as (

        select
            movie1_id,
            movie2_id,
            sum(num_pairs) as num_pairs,
            sum(sum_xy) as sum_xy,
            sum(sum_xx) as sum_xx,
            sum(sum_yy) as sum_yy
        from (
            select movie1_id, movie2_id, num_pairs, sum_xy, sum_xx, sum_yy from {{ existing }}
            union all
            select movie1_id, movie2_id, num_pairs, sum_xy, sum_xx, sum_yy from changes
        ) as existing_and_changes
        group by movie1_id, movie2_id

    ),

    scored as (

        select
            summed.movie1_id,
            summed.movie2_id,
            summed.num_pairs,
            summed.sum_xy,
            summed.sum_xx,
            summed.sum_yy,
            summed.sum_xy / (sqrt(summed.sum_xx) * sqrt(summed.sum_yy)) as score
        from summed
        left semi join eligible_now as first_eligible
            on summed.movie1_id = first_eligible.movie_id
        left semi join eligible_now as second_eligible
            on summed.movie2_id = second_eligible.movie_id
        where summed.num_pairs > 0

    )

    select * from scored
{% endmacro %}
