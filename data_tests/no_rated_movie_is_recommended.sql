-- A cross-model promise: recommendations never include a movie the user already rated.
with

recommendations as (

    select * from {{ ref('ml_user_recommendations') }}

),

ratings as (

    select * from {{ ref('int_ratings_validated') }}

),

already_rated as (

    select
        recommendations.user_id,
        recommendations.movie_id,
        recommendations.recommendation_rank
    from recommendations
    inner join ratings
        on
            recommendations.user_id = ratings.user_id
            and recommendations.movie_id = ratings.movie_id

)

select * from already_rated
