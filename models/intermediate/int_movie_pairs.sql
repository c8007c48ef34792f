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
{%- if var('pair_join') not in ['broadcast', 'shuffle'] -%}
    {{ exceptions.raise_compiler_error(
        "var pair_join is '" ~ var('pair_join') ~ "': use 'broadcast' or 'shuffle'") }}
{%- endif %}

with

ratings as (

    select
        user_id,
        movie_id,
        rating
    from {{ ref('int_ratings_validated') }}

),

eligible_movies as (

    select movie_id
    from ratings
    group by movie_id
    having count(*) >= {{ var('min_co_raters') }}

),

eligible_ratings as (

    select ratings.*
    from ratings
    left semi join eligible_movies
        on ratings.movie_id = eligible_movies.movie_id

),

first_ratings_by_movie as (

    select {% if var('pair_join') == 'broadcast' -%}
        /*+ repartition({{ var('pair_partitions') }}, movie_id) */
    {%- endif %}
        eligible_ratings.*
    from eligible_ratings

),

pairs as (

    select {% if var('pair_join') == 'broadcast' %}/*+ broadcast(second_rating) */{% endif %}
        first_rating.movie_id as movie1_id,
        second_rating.movie_id as movie2_id,
        first_rating.rating as rating1,
        second_rating.rating as rating2
    from first_ratings_by_movie as first_rating
    inner join eligible_ratings as second_rating
        on
            first_rating.user_id = second_rating.user_id
            and first_rating.movie_id < second_rating.movie_id

)

select * from pairs
