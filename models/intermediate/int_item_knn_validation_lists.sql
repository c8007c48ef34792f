-- sqlfluff:indentation:template_blocks_indent:False
-- (above: the `knn_engine` if/else wraps the whole query, whose body keeps the usual layout)
-- The item-kNN tuning grid's lists: for every cell (k in knn_neighbours x co-rater floor in
-- knn_min_co_raters) and every user with a validation rating, the top_n movies fitted on
-- the training split (definition: macros/item_knn.sql, item_knn_lists).
-- With the var `knn_engine: numpy` (the default), the same rows come from
-- int_item_knn_validation_lists_numpy (neighbours on Spark, scores by sparse products) and this
-- model is a view of them (dbt_project.yml); `knn_engine: sql` builds the query below.
{% if var('knn_engine') == 'numpy' %}

select * from {{ ref('int_item_knn_validation_lists_numpy') }}

{% else %}

with

splits as (

    select
        user_id,
        movie_id,
        rating,
        split
    from {{ ref('ml_rating_splits') }}

),

split_pair_scores as (

    select
        movie1_id,
        movie2_id,
        tuning_num_pairs,
        tuning_sum_xy
    from {{ ref('int_split_movie_pair_scores') }}

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

train_pair_aggregates as (

    select
        'tuning' as purpose,
        movie1_id,
        movie2_id,
        tuning_num_pairs as num_pairs,
        tuning_sum_xy as sum_xy
    from split_pair_scores
    where tuning_num_pairs > 0

),

validation_users as (

    select distinct
        'tuning' as purpose,
        user_id
    from splits
    where split = 'validation'

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

{% endif %}
