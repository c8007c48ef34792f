-- A cross-model promise: an item-kNN list never holds a movie the user rated in the scope it
-- was fitted on (train for the tuning lists, train + validation for evaluation, every
-- validated rating for serving).
with

validation_lists as (

    select * from {{ ref('int_item_knn_validation_lists') }}

),

recommendations as (

    select * from {{ ref('ml_item_knn_recommendations') }}

),

splits as (

    select * from {{ ref('ml_rating_splits') }}

),

validated_ratings as (

    select * from {{ ref('int_ratings_validated') }}

),

rated_in_train as (

    select
        'tuning' as purpose,
        validation_lists.user_id,
        validation_lists.movie_id,
        validation_lists.recommendation_rank
    from validation_lists
    inner join splits
        on
            validation_lists.user_id = splits.user_id
            and validation_lists.movie_id = splits.movie_id
    where splits.split = 'train'

),

rated_outside_test as (

    select
        recommendations.purpose,
        recommendations.user_id,
        recommendations.movie_id,
        recommendations.recommendation_rank
    from recommendations
    inner join splits
        on
            recommendations.user_id = splits.user_id
            and recommendations.movie_id = splits.movie_id
    where recommendations.purpose = 'evaluation' and splits.split != 'test'

),

rated_at_all as (

    select
        recommendations.purpose,
        recommendations.user_id,
        recommendations.movie_id,
        recommendations.recommendation_rank
    from recommendations
    inner join validated_ratings
        on
            recommendations.user_id = validated_ratings.user_id
            and recommendations.movie_id = validated_ratings.movie_id
    where recommendations.purpose = 'serving'

),

already_rated as (

    select * from rated_in_train
    union all
    select * from rated_outside_test
    union all
    select * from rated_at_all

)

select * from already_rated
