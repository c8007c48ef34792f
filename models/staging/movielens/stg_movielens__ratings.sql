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
        try_cast(trim(timestamp) as bigint) as rated_at_epoch_seconds,

        ---------- timestamps
        -- only from 1970-01-01 to 2099-12-31: further out is an error (and can overflow)
        case
            when try_cast(trim(timestamp) as bigint) between 0 and 4102444799
                then timestamp_seconds(try_cast(trim(timestamp) as bigint))
        end as rated_at,

        ---------- lineage
        -- coalesce keeps every field's position: concat_ws skips nulls
        coalesce(
            {{ movielens_blank_line() }},
            concat_ws(
                ',',
                coalesce(userId, ''),
                coalesce(movieId, ''),
                coalesce(rating, ''),
                coalesce(timestamp, '')
            )
        ) as source_values,
        {{ movielens_source_file() }} as source_file,
        {{ movielens_malformed_line() }} as malformed_line,
        {{ movielens_blank_line() }} is not null as is_blank_line

    from source

)

select * from renamed
