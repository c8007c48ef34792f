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
        rated_at
    from checked
    where reject_reason is null

)

select * from validated
