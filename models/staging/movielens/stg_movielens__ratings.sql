with

source as (

    select * from {{ movielens_relation('ratings') }}

),

renamed as (

    select
        ----------  ids
        try_cast(trim(userId) as int) as user_id,
        try_cast(trim(movieId) as int) as movie_id,

        ---------- numerics
        try_cast(trim(rating) as double) as rating,

        ---------- timestamps
        timestamp_seconds(try_cast(trim(timestamp) as bigint)) as rated_at,

        ---------- lineage
        concat_ws(
            ',', userId, movieId, rating, timestamp
        ) as source_values,
        {{ movielens_malformed_line() }} as malformed_line

    from source

)

select * from renamed
