-- Item-kNN lists of the tuned cell (the highest validation NDCG@k in ml_item_knn_tuning),
-- fitted twice: on train + validation for the users with a test rating ('evaluation'), and
-- on every validated rating, with the cosine path's pair aggregates, for every user
-- ('serving'). Both go through one item_knn_lists query (macros/item_knn.sql).
--
-- This query is the definition. The var `knn_engine` (auto by default) may build the same
-- rows with sparse products instead (python_jobs/item_knn.py, config `python_engine` in the
-- YAML).
with

splits as (

    select
        user_id,
        movie_id,
        rating,
        split
    from {{ ref('ml_rating_splits') }}

),

validated_ratings as (

    select
        user_id,
        movie_id,
        rating
    from {{ ref('int_ratings_validated') }}

),

pair_scores as (

    select
        movie1_id,
        movie2_id,
        num_pairs,
        sum_xy
    from {{ ref('int_movie_pair_scores') }}

),

tuning as (

    select
        num_neighbours,
        min_co_raters,
        is_best
    from {{ ref('ml_item_knn_tuning') }}

),

fit_ratings as (

    select
        'evaluation' as purpose,
        user_id,
        movie_id,
        rating
    from splits
    where split != 'test'

    union all

    select
        'serving' as purpose,
        user_id,
        movie_id,
        rating
    from validated_ratings

),

non_test_ratings as (

    select
        user_id,
        movie_id,
        rating
    from splits
    where split != 'test'

),

non_test_pairs as (

    -- macros/movie_pairs.sql: the cosine path's pruning and self-join, over train + validation
    {{ movie_pair_self_join('non_test_ratings', var('min_co_raters'), ['rating']) }}

),

fit_pair_aggregates as (

    select
        'evaluation' as purpose,
        movie1_id,
        movie2_id,
        count(*) as num_pairs,
        sum(rating1 * rating2) as sum_xy
    from non_test_pairs
    group by movie1_id, movie2_id

    union all

    select
        'serving' as purpose,
        movie1_id,
        movie2_id,
        num_pairs,
        sum_xy
    from pair_scores

),

listed_users as (

    select distinct
        'evaluation' as purpose,
        user_id
    from splits
    where split = 'test'

    union all

    select distinct
        'serving' as purpose,
        user_id
    from validated_ratings

),

best_cells as (

    select
        purposes.purpose,
        tuning.num_neighbours as k,
        tuning.min_co_raters
    from tuning
    cross join (values ('evaluation'), ('serving')) as purposes (purpose)
    where tuning.is_best

),

lists as (

    {{ item_knn_lists(
        ratings='fit_ratings',
        pair_aggregates='fit_pair_aggregates',
        users='listed_users',
        cells='best_cells',
        depth=[var('top_n'), var('metric_curve_max_k')] | max) }}

),

final as (

    -- Test-time lists are metric_curve_max_k deep, for the metric curves; served ones top_n.
    select
        purpose,
        user_id,
        recommendation_rank,
        movie_id,
        score
    from lists
    where purpose = 'evaluation' or recommendation_rank <= {{ var('top_n') }}

)

select * from final
