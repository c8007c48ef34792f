-- A cross-model promise: every user with a validation rating (at most tuning_max_users, the
-- seeded sample) gets an item-kNN tuning list of top_n movies in every grid cell, or every
-- unrated movie of the training split when fewer remain (the recommendations' lists are held
-- to their scopes by the generic test lists_follow_their_fit_scopes).
{%- set top_n = var('top_n') | int %}
with

validation_lists as (

    select * from {{ ref('int_item_knn_validation_lists') }}

),

splits as (

    select * from {{ ref('ml_rating_splits') }}

),

fit_ratings as (

    select
        user_id,
        movie_id
    from splits
    where split = 'train'

),

expected_users as (

    -- macros/validation_users.sql: carving 0's sampled validation users
    select user_id
    from ({{ sampled_validation_users('splits', carving=0) }}) as sampled_users

),

catalog_size as (

    select count(distinct movie_id) as num_movies
    from fit_ratings

),

rated_counts as (

    select
        user_id,
        count(*) as num_rated
    from fit_ratings
    group by user_id

),

expected_lengths as (

    select
        expected_users.user_id,
        least(
            {{ top_n }}, catalog_size.num_movies - coalesce(rated_counts.num_rated, 0)
        ) as expected_length
    from expected_users
    cross join catalog_size
    left join rated_counts
        on expected_users.user_id = rated_counts.user_id

),

list_lengths as (

    select
        k,
        min_co_raters,
        user_id,
        count(*) as list_length
    from validation_lists
    group by k, min_co_raters, user_id

),

neighbour_counts as (

    select explode(array({{ var('knn_neighbours') | join(', ') }})) as k

),

co_rater_floors as (

    select explode(array({{ var('knn_min_co_raters') | join(', ') }})) as min_co_raters

),

list_cells as (

    select
        neighbour_counts.k,
        co_rater_floors.min_co_raters
    from neighbour_counts
    cross join co_rater_floors

),

wrong_lengths as (

    select
        list_cells.k,
        list_cells.min_co_raters,
        expected_lengths.user_id,
        expected_lengths.expected_length,
        coalesce(list_lengths.list_length, 0) as list_length
    from expected_lengths
    cross join list_cells
    left join list_lengths
        on
            list_cells.k = list_lengths.k
            and list_cells.min_co_raters = list_lengths.min_co_raters
            and expected_lengths.user_id = list_lengths.user_id
    where coalesce(list_lengths.list_length, 0) != expected_lengths.expected_length

)

select * from wrong_lengths
