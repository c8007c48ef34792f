-- The cosine seed's pair aggregates: co-rater count, the three sums of the cosine formula,
-- and the score sum_xy / (sqrt(sum_xx) * sqrt(sum_yy)).
--
-- A view: fct_movie_similarities computes it and writes only the pairs that pass the
-- filters (267,666 of 2,390,699 on ml-latest-small); writing and re-reading every pair as a
-- table made the cosine path about 3 s slower there. Querying the view recomputes the
-- aggregation (a few seconds on ml-latest-small); set `+materialized: table` for this model
-- to keep every pair, e.g. to study other thresholds.
with

pairs as (

    select * from {{ ref('int_movie_pairs') }}

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
