with

source as (

    select * from {{ movielens_relation('links') }}

),

renamed as (

    select
        ----------  ids
        try_cast(trim(movieId) as int) as movie_id,
        nullif(trim(imdbId), '') as imdb_id,
        try_cast(trim(tmdbId) as int) as tmdb_id

    from source

)

select * from renamed
