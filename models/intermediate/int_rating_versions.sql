-- Every value a (user, movie) rating has held as the files were loaded: the validated rating
-- after each file, in load order. `loaded_in` is the load key of the file that made the row
-- the kept rating, `replaced_in` the load key of the file whose rating replaced it (null: the
-- rating kept now, the row of int_ratings_validated). The ratings as of load key K are the
-- rows with loaded_in <= K and (replaced_in is null or replaced_in > K): what the
-- incremental pair aggregates covered at their last run (macros/incremental_sums.sql).
with

checked as (

    select * from {{ ref('int_ratings_checked') }}

),

known_movies as (

    select movie_id from {{ ref('int_movies_checked') }}
    where reject_reason is null

),

candidates as (

    -- The rows that passed every check but the choice among a (user, movie)'s ratings.
    select
        checked.user_id,
        checked.movie_id,
        checked.rating,
        checked.rated_at,
        checked.source_values,
        {{ movielens_load_order('checked.source_file') }} as loaded_in
    from checked
    left semi join known_movies
        on checked.movie_id = known_movies.movie_id
    where
        checked.reject_reason is null
        or checked.reject_reason like 'repeat of a rating already loaded%'
        or checked.reject_reason like 'duplicate rating of the same%'

),

superseded as (

    -- int_ratings_checked's order: a row is replaced by the first loaded of the rows ranked
    -- before it (a later time, or the same time loaded earlier).
    select
        *,
        min(loaded_in) over (
            partition by user_id, movie_id
            order by rated_at desc, loaded_in asc, source_values asc
            rows between unbounded preceding and 1 preceding
        ) as replaced_in
    from candidates

),

versions as (

    select
        user_id,
        movie_id,
        rating,
        rated_at,
        loaded_in,
        replaced_in
    from superseded
    -- a row ranked below a rating loaded no later than itself was never the kept one
    where replaced_in is null or loaded_in < replaced_in

)

select * from versions
