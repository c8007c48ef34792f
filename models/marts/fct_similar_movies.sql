-- For each movie, its `top_n` most similar movies with both titles. A pair serves both of
-- its movies; ties on score are broken by more co-raters, then by the smaller movie id.
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

ranked as (

    select
        *,
        row_number() over (
            partition by movie_id
            order by score desc, num_pairs desc, similar_movie_id asc
        ) as similarity_rank
    from both_directions

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
