-- The pair aggregates of int_movie_pair_scores over the training split alone: what
-- ml_similarity_evaluation fits every similar-movie method on.
--
-- This query is the definition. The var `pair_engine` (auto by default) may build the same
-- rows as blocked sparse products instead (python_jobs/pair_products.py, config
-- `python_engine` in the YAML) from the same training ratings.
with

ratings as (

    select * from {{ ref('int_training_ratings') }}

),

pairs as (

    -- macros/movie_pairs.sql: the cosine path's pruning and self-join, over train alone
    {{ movie_pair_self_join('ratings', var('min_co_raters'), ['rating']) }}

),

aggregated as (

    select
        movie1_id,
        movie2_id,
        count(*) as num_pairs,
        sum(rating1 * rating2) as sum_xy,
        sum(rating1 * rating1) as sum_xx,
        sum(rating2 * rating2) as sum_yy
    from pairs
    group by movie1_id, movie2_id

),

scored as (

    select
        *,
        sum_xy / (sqrt(sum_xx) * sqrt(sum_yy)) as score
    from aggregated

)

select * from scored
