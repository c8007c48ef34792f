-- The cosine seed's self-join: every pair of movies rated by the same user, movie1 < movie2,
-- with both ratings. Movies rated by fewer than `min_co_raters` users are left out before
-- the join: a pair cannot have more co-raters than either of its movies has raters, so no
-- pair that passes the `min_co_raters` filter is lost, and the join shrinks.
--
-- Join plan: the left side is hash-partitioned by movie, the right side broadcast, so every
-- pair of a given movie1 is produced in one task and the aggregation downstream needs no
-- second shuffle (docs/benchmarks.md compares it with the seed's shuffle join). Set the var
-- `pair_join` to 'shuffle' when the eligible ratings do not fit in executor memory, and
-- `pair_partitions` to a few times the cluster's cores.
with

ratings as (

    select
        user_id,
        movie_id,
        rating
    from {{ ref('int_ratings_validated') }}

),

pairs as (

    -- macros/movie_pairs.sql: the pruning and the join, shared with int_split_movie_pair_scores
    {{ movie_pair_self_join('ratings', var('min_co_raters'), ['rating']) }}

)

select * from pairs
