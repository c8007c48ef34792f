with

source as (

    select * from {{ movielens_relation('tags') }}

),

renamed as (

    select
        ----------  ids
        try_cast(trim(userId) as int) as user_id,
        try_cast(trim(movieId) as int) as movie_id,

        ---------- text
        trim(tag) as tag,

        ---------- timestamps
        timestamp_seconds(try_cast(trim(timestamp) as bigint)) as tagged_at

    from source

)

select * from renamed
