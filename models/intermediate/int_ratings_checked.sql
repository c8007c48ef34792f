-- Every staged rating with the reason it is rejected (null when it is valid).
with

ratings as (

    select * from {{ ref('stg_movielens__ratings') }}

),

known_movies as (

    select movie_id from {{ ref('int_movies_checked') }}
    where reject_reason is null

),

row_checked as (

    select
        *,
        case
            when is_blank_line then 'blank line'
            when malformed_line is not null then 'malformed line: wrong number of fields'
            -- casts would silently drop control characters around a number
            when source_values rlike '[\\x00-\\x1f\\x7f]' then 'control character in a field'
            when source_values like '%\uFFFD%' then 'bytes not valid in the file encoding'
            when source_values = 'userId,movieId,rating,timestamp' then 'repeated header line'
            when user_id is null then 'user_id missing or not an integer'
            when movie_id is null then 'movie_id missing or not an integer'
            -- MovieLens ids start at 1: a zero or negative id is a broken line, not a user
            when user_id <= 0 then 'user_id not positive'
            when movie_id <= 0 then 'movie_id not positive'
            when rating is null then 'rating missing or not a number'
            -- Spark orders NaN above every number: NaN and infinities land here
            when rating < 0.5 or rating > 5 then 'rating outside 0.5..5'
            when rating * 2 != floor(rating * 2) then 'rating not on the half-star grid'
            when rated_at is null and rated_at_epoch_seconds is null
                then 'timestamp missing or not an integer'
            when rated_at is null then 'timestamp outside 1970..2099'
        end as row_reject_reason
    from ratings

),

occurrences_numbered as (

    -- Among the rows that pass the row checks, the latest rating of a (user, movie) wins;
    -- at the same time, the first loaded (the data set's file, then the batches by name).
    select
        *,
        row_number() over occurrences as occurrence,
        first_value(rating) over occurrences as kept_rating,
        first_value(rated_at) over occurrences as kept_rated_at
    from row_checked
    window occurrences as (
        partition by user_id, movie_id, row_reject_reason is null
        order by
            rated_at desc nulls last,
            {{ movielens_load_order('source_file') }} asc,
            source_values asc
    )

),

checked as (

    select
        occurrences_numbered.user_id,
        occurrences_numbered.movie_id,
        occurrences_numbered.rating,
        occurrences_numbered.rated_at,
        occurrences_numbered.source_values,
        occurrences_numbered.source_file,
        occurrences_numbered.malformed_line,
        coalesce(
            occurrences_numbered.row_reject_reason,
            case
                when
                    occurrences_numbered.occurrence > 1
                    and occurrences_numbered.rating = occurrences_numbered.kept_rating
                    and occurrences_numbered.rated_at = occurrences_numbered.kept_rated_at
                    then 'repeat of a rating already loaded (same user, movie, rating and time)'
                when occurrences_numbered.occurrence > 1
                    then 'duplicate rating of the same (user_id, movie_id); the latest is kept'
                when known_movies.movie_id is null then 'movie_id not found in movies'
            end
        ) as reject_reason
    from occurrences_numbered
    left join known_movies
        on occurrences_numbered.movie_id = known_movies.movie_id

)

select * from checked
