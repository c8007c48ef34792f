-- The list for a user the ratings do not know yet (one who arrives after the build): the
-- `top_n` most-rated validated movies, ties to the lower movie id. ml_user_recommendations
-- serves the same list, minus what they rated, to users with no validated rating.
with

ratings as (

    select * from {{ ref('int_ratings_validated') }}

),

movies as (

    select
        movie_id,
        title
    from {{ ref('dim_movies') }}

),

popularity as (

    select
        movie_id,
        count(*) as num_ratings
    from ratings
    group by movie_id

),

ranked as (

    select
        movie_id,
        num_ratings,
        row_number() over (order by num_ratings desc, movie_id asc) as recommendation_rank
    from popularity

)

select
    ranked.recommendation_rank,
    ranked.movie_id,
    movies.title,
    cast(ranked.num_ratings as double) as score
from ranked
left join movies
    on ranked.movie_id = movies.movie_id
where ranked.recommendation_rank <= {{ var('top_n') }}
