-- The training split's ratings (split = 'train' of ml_rating_splits): what the similar-movie
-- methods are fitted on when ml_similarity_evaluation scores them on the validation split.
with

splits as (

    select * from {{ ref('ml_rating_splits') }}

),

training as (

    select
        user_id,
        movie_id,
        rating
    from splits
    where split = 'train'

)

select * from training
