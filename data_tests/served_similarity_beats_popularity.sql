-- The served similar-movie method does better than popularity on the validation split: its
-- mean standardized excess (the measure that chooses it) and its excess hit rate (held-out
-- co-occurrence beyond the base rate) are both above the popularity list's.
with

evaluation as (

    select * from {{ ref('ml_similarity_evaluation') }}

),

popularity as (

    select
        mean_standardized_excess,
        excess_hit_rate
    from evaluation
    where method = 'popularity'

),

served_below_popularity as (

    select
        evaluation.method,
        evaluation.mean_standardized_excess,
        evaluation.excess_hit_rate,
        popularity.mean_standardized_excess as popularity_mean_standardized_excess,
        popularity.excess_hit_rate as popularity_excess_hit_rate
    from evaluation
    cross join popularity
    where
        evaluation.is_served
        and not coalesce(
            evaluation.mean_standardized_excess > popularity.mean_standardized_excess
            and evaluation.excess_hit_rate > popularity.excess_hit_rate,
            false
        )

)

select * from served_below_popularity
