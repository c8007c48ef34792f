-- The ratings every downstream model uses: one row per (user, movie), all checks passed.
with

checked as (

    select * from {{ ref('int_ratings_checked') }}

),

validated as (

    select
        user_id,
        movie_id,
        rating,
        rated_at,
        -- the load key of the file the rating came from (macros/movielens_sources.sql)
        {{ movielens_load_order('source_file') }} as loaded_in
    from checked
    where reject_reason is null

)

select * from validated
