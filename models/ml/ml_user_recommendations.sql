-- What the recommendations service reads: every user's top_n unrated movies from the
-- recommender with the best validation NDCG@k, refitted on every validated rating.
with

selection as (

    select recommender
    from {{ ref('ml_recommender_selection') }}
    where is_served

),

served_lists as (

    {% for recommender in ['popularity', 'item_knn', 'ease', 'implicit_als'] %}
        select
            '{{ recommender }}' as recommender,
            user_id,
            recommendation_rank,
            movie_id,
            score
        from {{ ref('ml_' ~ recommender ~ '_recommendations') }}
        where purpose = 'serving'
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

movies as (

    select * from {{ ref('dim_movies') }}

),

served as (

    select
        served_lists.user_id,
        served_lists.recommendation_rank,
        served_lists.movie_id,
        movies.title,
        served_lists.score as prediction,
        served_lists.recommender as recommendation_source,
        served_lists.recommender
    from served_lists
    inner join selection
        on served_lists.recommender = selection.recommender
    left join movies
        on served_lists.movie_id = movies.movie_id

)

select * from served
