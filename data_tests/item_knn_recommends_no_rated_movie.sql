-- A cross-model promise: an item-kNN tuning list never holds a movie the user rated in train,
-- the scope it was fitted on (the recommendations' lists are held to their scopes by the
-- generic test lists_follow_their_fit_scopes).
with

validation_lists as (

    select * from {{ ref('int_item_knn_validation_lists') }}

),

splits as (

    select * from {{ ref('ml_rating_splits') }}

),

rated_in_train as (

    select
        validation_lists.k,
        validation_lists.min_co_raters,
        validation_lists.user_id,
        validation_lists.movie_id,
        validation_lists.recommendation_rank
    from validation_lists
    inner join splits
        on
            validation_lists.user_id = splits.user_id
            and validation_lists.movie_id = splits.movie_id
    where splits.split = 'train'

)

select * from rated_in_train
