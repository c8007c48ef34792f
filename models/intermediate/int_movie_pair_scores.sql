-- The cosine seed's pair aggregates: co-rater count, the three sums of the cosine formula,
-- and the score sum_xy / (sqrt(sum_xx) * sqrt(sum_yy)), one row per co-rated pair.
--
-- This query, the self-join's aggregation, is the definition. The var `pair_engine` (auto by
-- default) may build the same rows as blocked sparse products instead (python_jobs/
-- pair_products.py, config `python_engine` in the YAML), which reads the validated ratings:
-- depends_on: {{ ref('int_ratings_validated') }}
--
-- Incremental (macros/incremental_sums.sql): when ratings files arrive, the next run updates
-- the sums with the changed users' pairs (macros/movie_pairs.sql, movie_pair_scores_update),
-- which reads the ratings as they were before:
-- depends_on: {{ ref('int_rating_versions') }}
with

pairs as (

    select * from {{ ref('int_movie_pairs') }}

),

pair_scores as (

    -- macros/movie_pairs.sql: the count, the three sums and the cosine of every pair
    {{ cosine_pair_aggregates('pairs') }}

)

select * from pair_scores
