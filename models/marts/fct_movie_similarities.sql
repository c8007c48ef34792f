-- The cosine seed's `similarities_filtered`: pairs with enough co-raters and a high score.
with

pair_scores as (

    select * from {{ ref('int_movie_pair_scores') }}

),

filtered as (

    select *
    from pair_scores
    where
        num_pairs >= {{ var('min_co_raters') }}
        and score >= {{ var('min_similarity') }}

)

select * from filtered
