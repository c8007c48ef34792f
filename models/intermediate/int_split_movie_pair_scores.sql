-- sqlfluff:indentation:template_blocks_indent:False
-- (above: the `pair_engine` if/else wraps the whole query, whose body keeps the usual layout)
-- The pair aggregates of the item-kNN tuning and evaluation scopes, from one self-join of the
-- non-test ratings of ml_rating_splits: per movie pair, the co-raters and the sum of rating
-- products over users whose two ratings are both train or validation (evaluation scope),
-- and over users whose two ratings are both train (tuning scope).
--
-- With the var `pair_engine: blocked`, the same rows come from
-- int_split_movie_pair_scores_blocked (sparse products) and this model is a view of them
-- (dbt_project.yml).
{% if var('pair_engine') == 'blocked' %}

select * from {{ ref('int_split_movie_pair_scores_blocked') }}

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

non_test_ratings as (

    select
        user_id,
        movie_id,
        rating,
        case when split = 'train' then rating end as train_rating
    from splits
    where split != 'test'

),

pairs as (

    {{ movie_pair_self_join(
        'non_test_ratings', var('min_co_raters'), ['rating', 'train_rating']) }}

),

aggregated as (

    select
        movie1_id,
        movie2_id,
        count(*) as evaluation_num_pairs,
        sum(rating1 * rating2) as evaluation_sum_xy,
        count_if(train_rating1 is not null and train_rating2 is not null)
            as tuning_num_pairs,
        coalesce(sum(train_rating1 * train_rating2), 0) as tuning_sum_xy
    from pairs
    group by movie1_id, movie2_id
    -- No item-kNN cell uses a pair with fewer co-raters than the smallest floor.
    having count(*) >= {{ var('knn_min_co_raters') | min }}

)

select * from aggregated

{% endif %}
