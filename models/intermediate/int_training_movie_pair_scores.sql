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

pair_scores as (

    -- macros/movie_pairs.sql: the count, the three sums and the cosine of every pair
    {{ cosine_pair_aggregates('pairs') }}

)

select * from pair_scores
