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
        -- coalesce keeps every field's position: concat_ws skips nulls
        concat_ws(
            ',',
            coalesce(userId, ''),
            coalesce(movieId, ''),
            coalesce(rating, ''),
            coalesce(timestamp, '')
        ) as source_values,
        {{ movielens_malformed_line() }} as malformed_line

    from source

)

select * from renamed
