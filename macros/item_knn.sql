{#-
    The item-kNN recommender over pair aggregates, written once: int_item_knn_validation_lists
    (the tuning grid) and ml_item_knn_recommendations (evaluation and serving) call it.
    Definition: doc `item_knn` (models/ml/item_knn.md).
-#}

{% macro item_knn_lists(ratings, pair_aggregates, users, cells, depth=none) %}
    {#-
        One query giving item-kNN lists of `depth` movies (default `top_n`), for several fit
        scopes at once: every input carries a `purpose` column naming its scope, and nothing
        crosses scopes.

        ratings          purpose, user_id, movie_id, rating: the fit scope's ratings (all).
        pair_aggregates  purpose, movie1_id < movie2_id, num_pairs, sum_xy over the scope's
                         co-raters (pairs of movies with fewer than `min_co_raters` raters
                         in the scope may be present or not: they are dropped here).
        users            purpose, user_id: who gets a list.
        cells            purpose, k, min_co_raters: the (neighbours, co-rater floor) cells;
                         every k must be one of the var `knn_neighbours`.

        Returns purpose, k, min_co_raters, user_id, recommendation_rank, movie_id, score.

        sim(i, j) = sum_xy / sqrt(SS_i * SS_j), SS = sum of squared ratings of the movie over
        all its ratings in the scope; pairs need both movies rated by `min_co_raters` users
        and num_pairs >= the cell's floor. The k neighbours of j: highest sim, then more
        co-raters, then lower id. score(u, j) = sum of sim(i, j) over the movies i that u
        rated among j's k neighbours. The list: unrated scored movies by score desc, then
        lower id; completed, when short, by the scope's most-rated unrated movies (score 0).

        Cost: neighbours are ranked once per floor, at most max(knn_neighbours) of them, and
        the ratings join them once per floor, every k of the floor summed in the same pass.
    -#}
    {#- The vars are checked at parse time (check_vars, macros/check_vars.sql). -#}
    {%- set k_values = var('knn_neighbours') | map('int') | unique | sort | list -%}
    {%- set top_n = (depth or var('top_n')) | int %}
    with

    movie_totals as (

        select
            purpose,
            movie_id,
            count(*) as num_raters,
            sum(rating * rating) as sum_squares
        from {{ ratings }}
        group by purpose, movie_id

    ),

    cell_floors as (

        select
            purpose,
            min_co_raters,
            max(k) as max_k
        from {{ cells }}
        group by purpose, min_co_raters

    ),

    similarities as (

        select
            pair_aggregates.purpose,
            pair_aggregates.movie1_id,
            pair_aggregates.movie2_id,
            pair_aggregates.num_pairs,
            pair_aggregates.sum_xy
            / sqrt(first_movie.sum_squares * second_movie.sum_squares) as similarity
        from {{ pair_aggregates }} as pair_aggregates
        inner join movie_totals as first_movie
            on
                pair_aggregates.purpose = first_movie.purpose
                and pair_aggregates.movie1_id = first_movie.movie_id
        inner join movie_totals as second_movie
            on
                pair_aggregates.purpose = second_movie.purpose
                and pair_aggregates.movie2_id = second_movie.movie_id
        where
            first_movie.num_raters >= {{ var('min_co_raters') }}
            and second_movie.num_raters >= {{ var('min_co_raters') }}

    ),

    directed_similarities as (

        -- Each pair once per direction (one scan of the pairs, not a union of two).
        select
            similarities.purpose,
            direction.movie_id,
            direction.neighbour_id,
            similarities.num_pairs,
            similarities.similarity
        from similarities
        lateral view inline(array(
            named_struct('movie_id', movie1_id, 'neighbour_id', movie2_id),
            named_struct('movie_id', movie2_id, 'neighbour_id', movie1_id)
        )) direction as movie_id, neighbour_id

    ),

    ranked_neighbours as (

        select
            directed_similarities.purpose,
            cell_floors.min_co_raters,
            cell_floors.max_k,
            directed_similarities.movie_id,
            directed_similarities.neighbour_id,
            directed_similarities.similarity,
            row_number() over (
                partition by
                    directed_similarities.purpose,
                    cell_floors.min_co_raters,
                    directed_similarities.movie_id
                order by
                    directed_similarities.similarity desc,
                    directed_similarities.num_pairs desc,
                    directed_similarities.neighbour_id asc
            ) as neighbour_rank
        from directed_similarities
        inner join cell_floors
            on
                directed_similarities.purpose = cell_floors.purpose
                and directed_similarities.num_pairs >= cell_floors.min_co_raters

    ),

    nearest_neighbours as (

        select *
        from ranked_neighbours
        -- The literal bound lets Spark keep only that many rows per movie while ranking.
        where
            neighbour_rank <= {{ k_values | max }}
            and neighbour_rank <= max_k

    ),

    listed_user_ratings as (

        select
            ratings.purpose,
            ratings.user_id,
            ratings.movie_id
        from {{ ratings }} as ratings
        left semi join {{ users }} as users
            on
                ratings.purpose = users.purpose
                and ratings.user_id = users.user_id

    ),

    summed_neighbour_similarities as (

        select
            nearest_neighbours.purpose,
            nearest_neighbours.min_co_raters,
            listed_user_ratings.user_id,
            nearest_neighbours.movie_id,
            {%- for k in k_values %}
            sum(
                case when nearest_neighbours.neighbour_rank <= {{ k }} then nearest_neighbours.similarity end
            ) as score_at_{{ k }}{{ ',' if not loop.last }}
            {%- endfor %}
        from nearest_neighbours
        inner join listed_user_ratings
            on
                nearest_neighbours.purpose = listed_user_ratings.purpose
                and nearest_neighbours.neighbour_id = listed_user_ratings.movie_id
        group by
            nearest_neighbours.purpose,
            nearest_neighbours.min_co_raters,
            listed_user_ratings.user_id,
            nearest_neighbours.movie_id

    ),

    unrated_neighbour_similarities as (

        select summed_neighbour_similarities.*
        from summed_neighbour_similarities
        left anti join {{ ratings }} as ratings
            on
                summed_neighbour_similarities.purpose = ratings.purpose
                and summed_neighbour_similarities.user_id = ratings.user_id
                and summed_neighbour_similarities.movie_id = ratings.movie_id

    ),

    cell_scores as (

        select
            cells.purpose,
            cells.k,
            cells.min_co_raters,
            unrated.user_id,
            unrated.movie_id,
            case cells.k
                {%- for k in k_values %}
                when {{ k }} then unrated.score_at_{{ k }}
                {%- endfor %}
                else raise_error(concat(
                    'item-kNN cell k = ', cells.k, ' is not in the var knn_neighbours'
                ))
            end as score
        from unrated_neighbour_similarities as unrated
        inner join {{ cells }} as cells
            on
                unrated.purpose = cells.purpose
                and unrated.min_co_raters = cells.min_co_raters

    ),

    ranked_scores as (

        select
            *,
            row_number() over (
                partition by purpose, k, min_co_raters, user_id
                order by score desc, movie_id asc
            ) as score_rank
        from cell_scores
        -- null: none of the movie's k neighbours is rated by the user
        where score is not null

    ),

    scored_lists as (

        select
            purpose,
            k,
            min_co_raters,
            user_id,
            movie_id,
            score
        from ranked_scores
        where score_rank <= {{ top_n }}

    ),

    movie_popularity as (

        select
            purpose,
            movie_id,
            row_number() over (
                partition by purpose
                order by num_raters desc, movie_id asc
            ) as popularity_rank
        from movie_totals

    ),

    user_rating_counts as (

        select
            purpose,
            user_id,
            count(*) as num_rated
        from {{ ratings }}
        group by purpose, user_id

    ),

    popularity_reach as (

        -- The first num_rated + top_n most-rated movies of the scope hold at least top_n
        -- that the user has not rated: the only ranks a completion can need.
        select
            users.purpose,
            users.user_id,
            reach.popularity_rank
        from {{ users }} as users
        left join user_rating_counts
            on
                users.purpose = user_rating_counts.purpose
                and users.user_id = user_rating_counts.user_id
        lateral view explode(
            sequence(1, coalesce(user_rating_counts.num_rated, 0) + {{ top_n }})
        ) reach as popularity_rank

    ),

    popular_unrated_movies as (

        select
            popularity_reach.purpose,
            popularity_reach.user_id,
            movie_popularity.movie_id,
            movie_popularity.popularity_rank,
            row_number() over (
                partition by popularity_reach.purpose, popularity_reach.user_id
                order by movie_popularity.popularity_rank asc
            ) as unrated_rank
        from popularity_reach
        inner join movie_popularity
            on
                popularity_reach.purpose = movie_popularity.purpose
                and popularity_reach.popularity_rank = movie_popularity.popularity_rank
        left anti join {{ ratings }} as ratings
            on
                popularity_reach.purpose = ratings.purpose
                and popularity_reach.user_id = ratings.user_id
                and movie_popularity.movie_id = ratings.movie_id

    ),

    popular_candidates as (

        -- Each cell's list may need the user's top_n most-rated unrated movies, no more.
        select
            cells.purpose,
            cells.k,
            cells.min_co_raters,
            popular_unrated_movies.user_id,
            popular_unrated_movies.movie_id,
            popular_unrated_movies.popularity_rank
        from popular_unrated_movies
        inner join {{ cells }} as cells
            on popular_unrated_movies.purpose = cells.purpose
        where popular_unrated_movies.unrated_rank <= {{ top_n }}

    ),

    candidates as (

        select
            purpose,
            k,
            min_co_raters,
            user_id,
            movie_id,
            score,
            cast(null as int) as popularity_rank
        from scored_lists

        union all

        select
            purpose,
            k,
            min_co_raters,
            user_id,
            movie_id,
            cast(null as double) as score,
            popularity_rank
        from popular_candidates

    ),

    deduplicated_candidates as (

        -- A scored movie that is also popular keeps its score, and only its score.
        select
            purpose,
            k,
            min_co_raters,
            user_id,
            movie_id,
            max(score) as score,
            case when max(score) is null then min(popularity_rank) end as completion_rank
        from candidates
        group by purpose, k, min_co_raters, user_id, movie_id

    ),

    ranked_candidates as (

        select
            *,
            row_number() over (
                partition by purpose, k, min_co_raters, user_id
                order by score desc nulls last, completion_rank asc, movie_id asc
            ) as recommendation_rank
        from deduplicated_candidates

    ),

    lists as (

        select
            purpose,
            cast(k as int) as k,
            cast(min_co_raters as int) as min_co_raters,
            cast(user_id as int) as user_id,
            cast(recommendation_rank as int) as recommendation_rank,
            cast(movie_id as int) as movie_id,
            -- completion rows: no rated neighbour, the empty sum
            cast(coalesce(score, 0) as double) as score
        from ranked_candidates
        where recommendation_rank <= {{ top_n }}

    )

    select * from lists
{% endmacro %}
