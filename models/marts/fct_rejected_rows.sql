-- Quarantine: every input row that no model uses, with the reason. Nothing is dropped
-- without a trace here.
with

rejected_ratings as (

    select
        'ratings' as source_table,
        source_file,
        user_id,
        movie_id,
        source_values,
        malformed_line,
        reject_reason
    from {{ ref('int_ratings_checked') }}
    where reject_reason is not null

),

rejected_movies as (

    select
        'movies' as source_table,
        cast(null as string) as source_file,
        cast(null as int) as user_id,
        movie_id,
        source_values,
        malformed_line,
        reject_reason
    from {{ ref('int_movies_checked') }}
    where reject_reason is not null

),

unioned as (

    select * from rejected_ratings
    union all
    select * from rejected_movies

),

identified as (

    -- Identical rejected lines are numbered so that every quarantined row has its own id.
    select
        md5(concat_ws(
            '|',
            source_table,
            coalesce(source_file, ''),
            coalesce(source_values, ''),
            coalesce(malformed_line, ''),
            reject_reason,
            cast(row_number() over (
                partition by source_table, source_file, source_values, malformed_line, reject_reason
                order by source_table
            ) as string)
        )) as rejected_row_id,
        *
    from unioned

)

select * from identified
