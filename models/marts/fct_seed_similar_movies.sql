-- The cosine seed's similar movies, to the letter: for each movie, its `top_n` most similar
-- movies with both titles, from the filtered similarities. A pair serves both of its movies;
-- ties on score are broken by more co-raters, then by the smaller movie id.
--
-- Score levels between `min_similarity` and 1, each halving the distance to 1. A movie's
-- pairs are ranked only from the highest level that `top_n` of them reach: its top `top_n`
-- are among them, ties included, so the result is that of ranking every pair. The window
-- sorts far fewer rows (at 1M ratings 0.55M of 14M directed pairs; docs/benchmarks.md).
with

similarities as (

    select * from {{ ref('fct_movie_similarities') }}

),

movies as (

    select
        movie_id,
        title
    from {{ ref('dim_movies') }}

),

both_directions as (

    select
        movie1_id as movie_id,
        movie2_id as similar_movie_id,
        score,
        num_pairs
    from similarities

    union all

    select
        movie2_id as movie_id,
        movie1_id as similar_movie_id,
        score,
        num_pairs
    from similarities

),

score_levels as (

    -- null: fewer than `top_n` pairs reach the lowest level, so all of them are ranked.
    -- A double: as a decimal literal the level would be cast to double for every pair
    select
        movie_id,
        case
            {%- for halving in range(10, 0, -1) %}
                {%- set level = 1 - (1 - var('min_similarity')) / 2 ** halving %}
                when count_if(score >= {{ level }}) >= {{ var('top_n') }}
                    then cast({{ level }} as double)
            {%- endfor %}
        end as min_score
    from both_directions
    group by movie_id

),

candidates as (

    -- One level a movie: broadcast, so the directed pairs are filtered where they are read
    -- instead of being shuffled to meet their level. Spark cannot tell that the aggregation
    -- is small; the hint halved the query's CPU at 1M ratings (docs/benchmarks.md).
    select /*+ broadcast(score_levels) */ both_directions.*
    from both_directions
    inner join score_levels
        on both_directions.movie_id = score_levels.movie_id
    where
        score_levels.min_score is null
        or both_directions.score >= score_levels.min_score

),

ranked as (

    select
        *,
        row_number() over (
            partition by movie_id
            order by score desc, num_pairs desc, similar_movie_id asc
        ) as similarity_rank
    from candidates

),

top_ranked as (

    select
        ranked.movie_id,
        movie.title as movie_title,
        ranked.similarity_rank,
        ranked.similar_movie_id,
        similar_movie.title as similar_movie_title,
        ranked.score,
        ranked.num_pairs
    from ranked
    inner join movies as movie
        on ranked.movie_id = movie.movie_id
    inner join movies as similar_movie
        on ranked.similar_movie_id = similar_movie.movie_id
    where ranked.similarity_rank <= {{ var('top_n') }}

)

select * from top_ranked
