-- A cross-model promise: every user who should get an item-kNN list gets top_n movies (the
-- metric curves' max(top_n, metric_curve_max_k) for evaluation), or every unrated movie of
-- the fit scope when fewer remain. Tuning: users with a validation rating, per grid cell;
-- evaluation: users with a test rating; serving: every user.
{%- set top_n = var('top_n') | int %}
{%- set evaluation_depth = [top_n, var('metric_curve_max_k') | int] | max %}
with

validation_lists as (

    select * from {{ ref('int_item_knn_validation_lists') }}

),

recommendations as (

    select * from {{ ref('ml_item_knn_recommendations') }}

),

splits as (

    select * from {{ ref('ml_rating_splits') }}

),

validated_ratings as (

    select * from {{ ref('int_ratings_validated') }}

),

fit_ratings as (

    select
        'tuning' as purpose,
        user_id,
        movie_id
    from splits
    where split = 'train'

    union all

    select
        'evaluation' as purpose,
        user_id,
        movie_id
    from splits
    where split != 'test'

    union all

    select
        'serving' as purpose,
        user_id,
        movie_id
    from validated_ratings

),

expected_users as (

    select distinct
        'tuning' as purpose,
        user_id
    from splits
    where split = 'validation'

    union all

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

catalog_sizes as (

    select
        purpose,
        count(distinct movie_id) as num_movies
    from fit_ratings
    group by purpose

),

rated_counts as (

    select
        purpose,
        user_id,
        count(*) as num_rated
    from fit_ratings
    group by purpose, user_id

),

expected_lengths as (

    select
        expected_users.purpose,
        expected_users.user_id,
        least(
            case
                when expected_users.purpose = 'evaluation' then {{ evaluation_depth }}
                else {{ top_n }}
            end,
            catalog_sizes.num_movies - coalesce(rated_counts.num_rated, 0)
        ) as expected_length
    from expected_users
    inner join catalog_sizes
        on expected_users.purpose = catalog_sizes.purpose
    left join rated_counts
        on
            expected_users.purpose = rated_counts.purpose
            and expected_users.user_id = rated_counts.user_id

),

list_lengths as (

    select
        'tuning' as purpose,
        k,
        min_co_raters,
        user_id,
        count(*) as list_length
    from validation_lists
    group by k, min_co_raters, user_id

    union all

    select
        purpose,
        0 as k,
        0 as min_co_raters,
        user_id,
        count(*) as list_length
    from recommendations
    group by purpose, user_id

),

neighbour_counts as (

    select explode(array({{ var('knn_neighbours') | join(', ') }})) as k

),

co_rater_floors as (

    select explode(array({{ var('knn_min_co_raters') | join(', ') }})) as min_co_raters

),

list_cells as (

    -- Every tuning cell of the vars; one list per user for evaluation and serving.
    select
        'tuning' as purpose,
        neighbour_counts.k,
        co_rater_floors.min_co_raters
    from neighbour_counts
    cross join co_rater_floors

    union all

    select
        'evaluation' as purpose,
        0 as k,
        0 as min_co_raters

    union all

    select
        'serving' as purpose,
        0 as k,
        0 as min_co_raters

),

wrong_lengths as (

    select
        expected_lengths.purpose,
        list_cells.k,
        list_cells.min_co_raters,
        expected_lengths.user_id,
        expected_lengths.expected_length,
        coalesce(list_lengths.list_length, 0) as list_length
    from expected_lengths
    inner join list_cells
        on expected_lengths.purpose = list_cells.purpose
    left join list_lengths
        on
            list_cells.purpose = list_lengths.purpose
            and list_cells.k = list_lengths.k
            and list_cells.min_co_raters = list_lengths.min_co_raters
            and expected_lengths.user_id = list_lengths.user_id
    where coalesce(list_lengths.list_length, 0) != expected_lengths.expected_length

)

select * from wrong_lengths
