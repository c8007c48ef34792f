-- Every staged movie row with the reason it is rejected (null when it is valid).
with

movies as (

    select * from {{ ref('stg_movielens__movies') }}

),

row_checked as (

    select
        *,
        case
            when is_blank_line then 'blank line'
            when malformed_line is not null then 'malformed line: wrong number of fields'
            when source_values rlike '[\\x00-\\x1f\\x7f]' then 'control character in a field'
            when source_values like '%\uFFFD%' then 'bytes not valid in the file encoding'
            when source_values = 'movieId,title,genres' then 'repeated header line'
            when movie_id is null then 'movie_id missing or not an integer'
            when movie_id <= 0 then 'movie_id not positive'
            when title is null or title = '' then 'title missing'
        end as row_reject_reason
    from movies

),

occurrences_numbered as (

    select
        *,
        row_number() over (
            partition by movie_id, row_reject_reason is null
            order by source_values
        ) as occurrence
    from row_checked

),

checked as (

    select
        movie_id,
        title,
        release_year,
        genres,
        source_values,
        malformed_line,
        coalesce(
            row_reject_reason,
            case
                when occurrence > 1
                    then 'duplicate movie_id; the first line in sort order is kept'
            end
        ) as reject_reason
    from occurrences_numbered

)

select * from checked
