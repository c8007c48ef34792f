with

source as (

    select * from {{ movielens_relation('movies') }}

),

renamed as (

    select
        ----------  ids
        try_cast(trim(movieId) as int) as movie_id,

        ---------- text
        trim(title) as title,

        ---------- numerics
        try_cast(
            nullif(regexp_extract(title, '\\((\\d{4})[^)]*\\)\\s*$', 1), '') as int
        ) as release_year,

        ---------- arrays
        case
            when genres is null or trim(genres) in ('', '(no genres listed)')
                then cast(array() as array<string>)
            else split(trim(genres), '[|]')
        end as genres,

        ---------- lineage
        -- coalesce keeps every field's position: concat_ws skips nulls
        coalesce(
            {{ movielens_blank_line() }},
            concat_ws(
                ',', coalesce(movieId, ''), coalesce(title, ''), coalesce(genres, '')
            )
        ) as source_values,
        {{ movielens_malformed_line() }} as malformed_line,
        {{ movielens_blank_line() }} is not null as is_blank_line

    from source

)

select * from renamed
