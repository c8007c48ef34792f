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
        what a full build computes.

        A changed rating is a (user, movie) whose rating is new, replaced or gone since. Only
        the pairs it is part of change, so for each pair of movies eligible now (at least
        `min_co_raters` raters):
          existing row
          - the pairs each changed rating formed before (movies eligible before)
          + the pairs it forms now
          + for a movie that became eligible, its pairs with everyone's ratings (the existing
            table left it out, so its pairs are not in the two terms above);
        a pair whose co-raters are all gone is dropped. The raters of a movie before are its
        raters now less the changed ratings' difference, so the ratings before are read only
        for the users who changed.

        Three small results are written to tables first: the changed users' ratings before
        and now, every movie's raters before and now, and the changes to the pair sums.
        Spark inlines a CTE or a view at every reference: as one statement, the plan grew to
        392 windows and 650 joins (explaining it took 18 s at 100k ratings), and over cached
        views each statement still took 24 s on 230 ratings. The existing rows are then read once, joined with the broadcast
        changes and rewritten, never shuffled. Returns {'code': the statement's query,
        'cleanup': statements that drop the three tables}.
    -#}
    {%- set min_raters = var('min_co_raters') -%}
    {#- Named after the staging table, so that a killed run's are dropped as its leftovers
        (macros/atomic_table.sql) -#}
    {%- set staging = atomic_table_version(existing, 'new', invocation_id) -%}
    {%- set named = staging.identifier ~ '_' -%}
    {%- set user_ratings = staging.incorporate(path={'identifier': named ~ 'user_ratings'}) -%}
    {%- set movie_raters = staging.incorporate(path={'identifier': named ~ 'movie_raters'}) -%}
    {%- set changes = staging.incorporate(path={'identifier': named ~ 'changes'}) -%}
    {%- set validated = ref('int_ratings_validated') -%}

    {%- set query -%}
        with

        changed_users as (

            -- a new or replacing rating (the replaced one is the same user's): loaded since
            select distinct user_id
            from {{ validated }}
            where loaded_in > {{ sql_string_literal(covered_through) }}

        ),

        now_of_changed_users as (

            select validated.user_id, validated.movie_id, validated.rating
            from {{ validated }} as validated
            left semi join changed_users
                on validated.user_id = changed_users.user_id

        ),

        before_of_changed_users as (

            select versions.user_id, versions.movie_id, versions.rating
            from {{ ref('int_rating_versions') }} as versions
            left semi join changed_users
                on versions.user_id = changed_users.user_id
            where {{ rating_as_of_condition(covered_through) }}

        )

        -- every rating of a changed user, before and now (null: none), and whether it changed
        select
            coalesce(now_rating.user_id, before_rating.user_id) as user_id,
            coalesce(now_rating.movie_id, before_rating.movie_id) as movie_id,
            before_rating.rating as rating_before,
            now_rating.rating as rating_now,
            not (now_rating.rating <=> before_rating.rating) as changed
        from now_of_changed_users as now_rating
        full outer join before_of_changed_users as before_rating
            on
                now_rating.user_id = before_rating.user_id
                and now_rating.movie_id = before_rating.movie_id
    {%- endset -%}
    {%- do incremental_sums_write(user_ratings, query) -%}

    {%- set query -%}
        with

        raters_now as (

            select movie_id, count(*) as raters from {{ validated }} group by movie_id

        ),

        rater_changes as (

            select
                movie_id,
                sum(
                    case
                        when rating_before is null then 1
                        when rating_now is null then -1
                        else 0
                    end
                ) as change
            from {{ user_ratings }}
            group by movie_id

        ),

        raters as (

            select
                coalesce(raters_now.movie_id, rater_changes.movie_id) as movie_id,
                coalesce(raters_now.raters, 0) as raters_now,
                coalesce(raters_now.raters, 0) - coalesce(rater_changes.change, 0)
                    as raters_before
            from raters_now
            full outer join rater_changes
                on raters_now.movie_id = rater_changes.movie_id

        )

        select
            movie_id,
            raters_now >= {{ min_raters }} as eligible_now,
            raters_before >= {{ min_raters }} as eligible_before
        from raters
        where raters_now >= {{ min_raters }} or raters_before >= {{ min_raters }}
    {%- endset -%}
    {%- do incremental_sums_write(movie_raters, query) -%}

    {%- set query -%}
        with

        newly_eligible as (

            select movie_id from {{ movie_raters }}
            where eligible_now and not eligible_before

        ),

        {%- for side in ['before', 'now'] %}

        {{ side }}_flagged as (

            -- the changed users' ratings {{ side }}, on movies eligible {{ side }}
            select
                user_ratings.user_id,
                user_ratings.movie_id,
                user_ratings.rating_{{ side }} as rating,
                user_ratings.changed
            from {{ user_ratings }} as user_ratings
            inner join {{ movie_raters }} as movie_raters
                on user_ratings.movie_id = movie_raters.movie_id
            where user_ratings.rating_{{ side }} is not null and movie_raters.eligible_{{ side }}

        ),

        {{ side }}_pairs as (

            -- every pair with a changed rating in it, once (from its smaller movie when both are)
            {{ movie_pair_scores_pairs_with(side ~ '_flagged', side ~ '_flagged', 'changed') }}

        ),
        {%- endfor %}

        newly_eligible_ratings as (

            select validated.user_id, validated.movie_id, validated.rating
            from {{ validated }} as validated
            left semi join newly_eligible
                on validated.movie_id = newly_eligible.movie_id

        ),

        eligible_ratings_now as (

            select
                validated.user_id,
                validated.movie_id,
                validated.rating,
                newly_eligible.movie_id is not null as changed
            from {{ validated }} as validated
            left semi join (select movie_id from {{ movie_raters }} where eligible_now) as eligible
                on validated.movie_id = eligible.movie_id
            left join newly_eligible
                on validated.movie_id = newly_eligible.movie_id

        ),

        newly_eligible_pairs as (

            {{ movie_pair_scores_pairs_with('newly_eligible_ratings', 'eligible_ratings_now',
                'changed') }}

        ),

        contributions as (

            select movie1_id, movie2_id, -1 as sign, rating1, rating2 from before_pairs
            union all
            -- a pair with a newly eligible movie comes whole from newly_eligible_pairs
            select
                now_pairs.movie1_id,
                now_pairs.movie2_id,
                1 as sign,
                now_pairs.rating1,
                now_pairs.rating2
            from now_pairs
            left anti join newly_eligible
                on now_pairs.movie1_id = newly_eligible.movie_id
            left anti join newly_eligible as second_newly_eligible
                on now_pairs.movie2_id = second_newly_eligible.movie_id
            union all
            select movie1_id, movie2_id, 1 as sign, rating1, rating2 from newly_eligible_pairs

        )

        select
            movie1_id,
            movie2_id,
            sum(sign) as num_pairs,
            sum(sign * rating1 * rating2) as sum_xy,
            sum(sign * rating1 * rating1) as sum_xx,
            sum(sign * rating2 * rating2) as sum_yy
        from contributions
        group by movie1_id, movie2_id
    {%- endset -%}
    {%- do incremental_sums_write(changes, query) -%}

    {%- set code -%}
    with

    eligible_now as (

        select movie_id from {{ movie_raters }} where eligible_now

    ),

    existing_eligible as (

        select /*+ broadcast(first_eligible, second_eligible) */
            existing_rows.movie1_id,
            existing_rows.movie2_id,
            existing_rows.num_pairs,
            existing_rows.sum_xy,
            existing_rows.sum_xx,
            existing_rows.sum_yy
        from {{ existing }} as existing_rows
        left semi join eligible_now as first_eligible
            on existing_rows.movie1_id = first_eligible.movie_id
        left semi join eligible_now as second_eligible
            on existing_rows.movie2_id = second_eligible.movie_id

    ),

    updated as (

        select /*+ broadcast(changes) */
            existing_eligible.movie1_id,
            existing_eligible.movie2_id,
            existing_eligible.num_pairs + coalesce(changes.num_pairs, 0) as num_pairs,
            existing_eligible.sum_xy + coalesce(changes.sum_xy, 0) as sum_xy,
            existing_eligible.sum_xx + coalesce(changes.sum_xx, 0) as sum_xx,
            existing_eligible.sum_yy + coalesce(changes.sum_yy, 0) as sum_yy
        from existing_eligible
        left join {{ changes }} as changes
            on
                existing_eligible.movie1_id = changes.movie1_id
                and existing_eligible.movie2_id = changes.movie2_id

    ),

    existing_changed_keys as (

        select /*+ broadcast(changes) */
            existing_rows.movie1_id,
            existing_rows.movie2_id
        from {{ existing }} as existing_rows
        left semi join {{ changes }} as changes
            on
                existing_rows.movie1_id = changes.movie1_id
                and existing_rows.movie2_id = changes.movie2_id

    ),

    new_pairs as (

        -- pairs the existing table did not hold, on movies eligible now
        select changes.*
        from {{ changes }} as changes
        left anti join existing_changed_keys
            on
                changes.movie1_id = existing_changed_keys.movie1_id
                and changes.movie2_id = existing_changed_keys.movie2_id
        left semi join eligible_now as first_eligible
            on changes.movie1_id = first_eligible.movie_id
        left semi join eligible_now as second_eligible
            on changes.movie2_id = second_eligible.movie_id

    ),

    scored as (

        select
            *,
            sum_xy / (sqrt(sum_xx) * sqrt(sum_yy)) as score
        from (
            select * from updated
            union all
            select * from new_pairs
        ) as updated_and_new
        where num_pairs > 0

    )

    select * from scored
    {%- endset -%}
    {%- set cleanup = [] -%}
    {%- for relation in [changes, movie_raters, user_ratings] -%}
        {%- do cleanup.append('drop table if exists ' ~ relation) -%}
    {%- endfor -%}
    {{ return({'code': code, 'cleanup': cleanup}) }}
{% endmacro %}


{% macro movie_pair_scores_pairs_with(marked, partners, flag) %}
    {#- The pairs, movie1 < movie2 with both ratings, of each rating of `marked` (those whose
        `flag` is true, when `marked` is `partners`) with every other rating of the same
        user in `partners`; a pair of two flagged ratings comes once, from its smaller
        movie. -#}
    select
        least(marked.movie_id, partner.movie_id) as movie1_id,
        greatest(marked.movie_id, partner.movie_id) as movie2_id,
        case when marked.movie_id < partner.movie_id then marked.rating else partner.rating end
            as rating1,
        case when marked.movie_id < partner.movie_id then partner.rating else marked.rating end
            as rating2
    from (
        -- flagged first: the join then makes (flagged ratings) x (a user's ratings) rows,
        -- not (a user's ratings) squared
        select * from {{ marked }}{% if marked == partners %} where {{ flag }}{% endif %}
    ) as marked
    inner join {{ partners }} as partner
        on
            marked.user_id = partner.user_id
            and marked.movie_id != partner.movie_id
    where not partner.{{ flag }} or marked.movie_id < partner.movie_id
{%- endmacro %}
