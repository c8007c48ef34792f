with

movies as (

    select * from {{ ref('int_movies_checked') }}
    where reject_reason is null

),

links as (

    select * from {{ ref('stg_movielens__links') }}
    where movie_id is not null

),

ratings as (

    select * from {{ ref('int_ratings_validated') }}

),

movie_rating_stats as (

    select
        movie_id,
        count(*) as num_ratings,
        avg(rating) as mean_rating
    from ratings
    group by movie_id

),

link_per_movie as (

    select
        movie_id,
        min(imdb_id) as imdb_id,
        min(tmdb_id) as tmdb_id
    from links
    group by movie_id

),

joined as (

    select
        movies.movie_id,
        movies.title,
        movies.release_year,
        movies.genres,
        link_per_movie.imdb_id,
        link_per_movie.tmdb_id,
        coalesce(movie_rating_stats.num_ratings, 0) as num_ratings,
        movie_rating_stats.mean_rating
    from movies
    left join link_per_movie
        on movies.movie_id = link_per_movie.movie_id
    left join movie_rating_stats
        on movies.movie_id = movie_rating_stats.movie_id

)

select * from joined
