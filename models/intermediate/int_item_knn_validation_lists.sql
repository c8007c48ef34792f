-- The item-kNN tuning grid's lists: for every cell (k in knn_neighbours x co-rater floor in
-- knn_min_co_raters) and every user with a validation rating (at most tuning_max_users of
-- them), the top_n movies fitted on the training split (definition: macros/item_knn.sql,
-- item_knn_lists).
--
-- This query is the definition. The var `knn_engine` (auto by default) may build the same
-- rows with sparse products instead (python_jobs/item_knn.py, config `python_engine` in the
-- YAML), which ranks neighbours once for the whole grid and scores users as products.
with

splits as (

    select
        user_id,
        movie_id,
        rating,
        split,
        validation_carving
    from {{ ref('ml_rating_splits') }}

),

train_ratings as (

    select
        'tuning' as purpose,
        user_id,
        movie_id,
        rating
    from splits
    where split = 'train'

),

train_pairs as (

    -- macros/movie_pairs.sql: the cosine path's pruning and self-join, over train alone
    {{ movie_pair_self_join('train_ratings', var('min_co_raters'), ['rating']) }}

),

train_pair_aggregates as (

    select
        'tuning' as purpose,
        movie1_id,
        movie2_id,
        count(*) as num_pairs,
        sum(rating1 * rating2) as sum_xy
    from train_pairs
    group by movie1_id, movie2_id
    -- No cell uses a pair with fewer co-raters than the smallest floor.
    having count(*) >= {{ var('knn_min_co_raters') | min }}

),

validation_users as (

    -- macros/validation_users.sql: carving 0's sampled validation users
    select
        'tuning' as purpose,
        user_id
    from ({{ sampled_validation_users('splits', carving=0) }}) as sampled_users

),

neighbour_counts as (

    select explode(array({{ var('knn_neighbours') | join(', ') }})) as k

),

co_rater_floors as (

    select explode(array({{ var('knn_min_co_raters') | join(', ') }})) as min_co_raters

),

grid_cells as (

    select
        'tuning' as purpose,
        neighbour_counts.k,
        co_rater_floors.min_co_raters
    from neighbour_counts
    cross join co_rater_floors

),

lists as (

    {{ item_knn_lists(
        ratings='train_ratings',
        pair_aggregates='train_pair_aggregates',
        users='validation_users',
        cells='grid_cells') }}

),

final as (

    select
        k,
        min_co_raters,
        user_id,
        recommendation_rank,
        movie_id,
        score
    from lists

)

select * from final
