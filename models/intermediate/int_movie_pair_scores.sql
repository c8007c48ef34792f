-- sqlfluff:indentation:template_blocks_indent:False
-- (above: the `pair_engine` if/else picks the CTEs of the sums, in the usual layout)
-- The cosine seed's pair aggregates: co-rater count, the three sums of the cosine formula,
-- and the score sum_xy / (sqrt(sum_xx) * sqrt(sum_yy)).
--
-- The var `pair_engine` picks how the sums are computed: `sql` (default) aggregates the
-- self-join below, the definition; `blocked` reads the same sums from
-- int_movie_pair_scores_blocked (sparse matrix products per block of movies,
-- python_jobs/pair_products.py). Either way the score is computed here.
--
-- A view (why: its YAML description): querying it recomputes the aggregation. Set
-- `+materialized: table` for this model to keep every pair, e.g. to study other thresholds.
with

{% if var('pair_engine') == 'blocked' %}

aggregated as (

    select * from {{ ref('int_movie_pair_scores_blocked') }}

),

{% else %}

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

{% endif %}

scored as (

    select
        *,
        sum_xy / (sqrt(sum_xx) * sqrt(sum_yy)) as score
    from aggregated

)

select * from scored
