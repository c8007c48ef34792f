-- What the recommendations service reads: every user's top_n unrated movies from the
-- served recommender (ml_recommender_selection), refitted on every validated rating, with
-- titles. Every user id in the ratings gets top_n rows: a user the served recommender has
-- no list for (every rating quarantined) or too short a list for (EASE's movie cap) is
-- topped up with the most-rated movies they have not rated, labelled popularity_fallback.
with

selection as (

    select recommender
    from {{ ref('ml_recommender_selection') }}
    where is_served

),

served_lists as (

    {% for recommender in ['popularity', 'item_knn', 'ease', 'implicit_als', 'blend'] %}
        select
            '{{ recommender }}' as recommender,
            user_id,
            recommendation_rank,
            movie_id,
            score
        from {{ ref('ml_' ~ recommender ~ '_recommendations') }}
        where purpose = 'serving' and recommendation_rank <= {{ var('top_n') }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

served as (

    select served_lists.*
    from served_lists
    inner join selection
        on served_lists.recommender = selection.recommender

),

-- every user id of the ratings, quarantined rows included
users as (

    select distinct user_id
    from {{ ref('int_ratings_checked') }}
    where user_id is not null

),

rated as (

    select distinct
        user_id,
        movie_id
    from {{ ref('int_ratings_validated') }}

),

popular as (

    select
        movie_id,
        count(*) as num_ratings,
        row_number() over (order by count(*) desc, movie_id asc) as popularity_rank
    from {{ ref('int_ratings_validated') }}
    group by movie_id

),

served_counts as (

    select
        user_id,
        count(*) as num_served
    from served
    group by user_id

),

rated_counts as (

    select
        user_id,
        count(*) as num_rated
    from rated
    group by user_id

),

shortfall as (

    -- users with fewer than top_n served rows; the popular movies to skip before their
    -- top-up are at most those served and those rated
    select
        users.user_id,
        coalesce(served_counts.num_served, 0) as num_served,
        coalesce(served_counts.num_served, 0)
        + coalesce(rated_counts.num_rated, 0) as num_skipped
    from users
    left join served_counts
        on users.user_id = served_counts.user_id
    left join rated_counts
        on users.user_id = rated_counts.user_id
    where coalesce(served_counts.num_served, 0) < {{ var('top_n') }}

),

fallback_candidates as (

    select
        shortfall.user_id,
        shortfall.num_served,
        popular.movie_id,
        popular.num_ratings,
        popular.popularity_rank
    from shortfall
    inner join popular
        on popular.popularity_rank <= shortfall.num_skipped + {{ var('top_n') }}
    left anti join rated
        on
            shortfall.user_id = rated.user_id
            and popular.movie_id = rated.movie_id
    left anti join served
        on
            shortfall.user_id = served.user_id
            and popular.movie_id = served.movie_id

),

fallback as (

    select
        user_id,
        cast(
            num_served + row_number() over (partition by user_id order by popularity_rank)
            as int
        ) as recommendation_rank,
        movie_id,
        -- the popularity recommender's score: the movie's number of validated ratings
        cast(num_ratings as double) as score
    from fallback_candidates

),

all_rows as (

    select
        user_id,
        recommendation_rank,
        movie_id,
        score,
        recommender as recommendation_source,
        recommender
    from served

    union all

    select
        user_id,
        recommendation_rank,
        movie_id,
        score,
        'popularity_fallback' as recommendation_source,
        'popularity' as recommender
    from fallback
    where recommendation_rank <= {{ var('top_n') }}

),

movies as (

    select * from {{ ref('dim_movies') }}

),

final as (

    select
        all_rows.user_id,
        all_rows.recommendation_rank,
        all_rows.movie_id,
        movies.title,
        all_rows.score as prediction,
        all_rows.recommendation_source,
        all_rows.recommender
    from all_rows
    left join movies
        on all_rows.movie_id = movies.movie_id

)

select * from final
