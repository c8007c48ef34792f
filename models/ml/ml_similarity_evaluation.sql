-- The similar-movie methods measured on the held-out validation split: every method's `top_n`
-- lists fitted on the training split (int_similar_movie_validation_lists) scored against the
-- validation ratings, one row per method, plus a popularity list. The served method
-- (`is_served`) is the collaborative method with the highest standardized excess: held-out
-- co-occurrence beyond what popularity predicts, in Poisson standard deviations per list
-- slot, a measure that does not grow with the listed movies' popularity. fct_similar_movies
-- serves it. Protocol: doc `similar_movies_protocol`.
{%- set methods = collaborative_similarity_methods() %}
with

splits as (

    select
        user_id,
        movie_id,
        split
    from {{ ref('ml_rating_splits') }}

),

training_ratings as (

    select
        user_id,
        movie_id
    from {{ ref('int_training_ratings') }}

),

catalog as (

    select
        movie_id,
        genres,
        release_year
    from {{ ref('dim_movies') }}

),

validation_ratings as (

    select
        user_id,
        movie_id
    from splits
    where split = 'validation'

),

training_counts as (

    select
        movie_id,
        count(*) as num_raters
    from training_ratings
    group by movie_id

),

listed_pairs as (

    select
        method,
        movie_id,
        similar_movie_id
    from {{ ref('int_similar_movie_validation_lists') }}

),

validation_users as (

    select
        user_id,
        count(*) as num_validation_ratings
    from validation_ratings
    group by user_id

),

validation_counts as (

    select
        movie_id,
        count(*) as num_validation_raters
    from validation_ratings
    group by movie_id

),

judged_anchors as (

    -- The movies every method is judged on: those with `min_co_raters` training raters
    -- (every collaborative method can list them), each with its training raters who have a
    -- validation rating. A slot a method leaves empty counts as a judgement without a hit.
    select
        training_ratings.movie_id,
        count(*) as num_judging_raters
    from training_ratings
    left semi join validation_users
        on training_ratings.user_id = validation_users.user_id
    left semi join training_counts
        on
            training_ratings.movie_id = training_counts.movie_id
            and training_counts.num_raters >= {{ var('min_co_raters') }}
    group by training_ratings.movie_id

),

anchor_raters as (

    -- Every training rater of every judged listed pair's anchor: did they also rate the
    -- listed movie in train (support)? If not, and they have validation ratings, they judge
    -- the pair: did they rate the listed movie in validation (a hit)?
    select
        listed_pairs.method,
        listed_pairs.movie_id,
        listed_pairs.similar_movie_id,
        count(co_rating.user_id) as support,
        count_if(validation_user.user_id is not null and co_rating.user_id is null)
            as num_judging_raters,
        sum(case
            when co_rating.user_id is null then validation_user.num_validation_ratings
        end) as judging_validation_ratings,
        count(held_out.user_id) as validation_hits
    from listed_pairs
    left semi join judged_anchors
        on listed_pairs.movie_id = judged_anchors.movie_id
    inner join training_ratings as anchor_rating
        on listed_pairs.movie_id = anchor_rating.movie_id
    left join training_ratings as co_rating
        on
            anchor_rating.user_id = co_rating.user_id
            and listed_pairs.similar_movie_id = co_rating.movie_id
    left join validation_users as validation_user
        on anchor_rating.user_id = validation_user.user_id
    left join validation_ratings as held_out
        on
            anchor_rating.user_id = held_out.user_id
            and listed_pairs.similar_movie_id = held_out.movie_id
    group by listed_pairs.method, listed_pairs.movie_id, listed_pairs.similar_movie_id

),

pair_expectations as (

    -- expected_hits: what the judging raters' activity and the listed movie's popularity
    -- predict if they were independent: their validation ratings times the movie's share
    -- of all validation ratings. genre_jaccard of the two movies' genre sets.
    select
        anchor_raters.method,
        anchor_raters.support,
        anchor_raters.num_judging_raters,
        anchor_raters.validation_hits,
        coalesce(anchor_raters.judging_validation_ratings, 0)
        * coalesce(validation_counts.num_validation_raters, 0)
        / (select count(*) from validation_ratings) as expected_hits,
        {{ set_jaccard('anchor.genres', 'listed.genres') }} as genre_jaccard
    from anchor_raters
    left join validation_counts
        on anchor_raters.similar_movie_id = validation_counts.movie_id
    inner join catalog as anchor
        on anchor_raters.movie_id = anchor.movie_id
    inner join catalog as listed
        on anchor_raters.similar_movie_id = listed.movie_id

),

pair_measures as (

    -- standardized_excess: the pair's hits beyond the base rate in standard deviations of a
    -- Poisson count with that mean, (hits - expected) / sqrt(expected); 0 where nothing is
    -- expected (the listed movie has no validation rating, so it has no hit either).
    select
        *,
        coalesce(
            (validation_hits - expected_hits) / sqrt(nullif(expected_hits, 0)), 0
        ) as standardized_excess
    from pair_expectations

),

list_measures as (

    select
        listed_pairs.method,
        count(distinct listed_pairs.movie_id) as num_listed_movies,
        count(distinct training_counts.movie_id) as num_listed_rated_movies,
        count(*) as num_listed_pairs
    from listed_pairs
    left join training_counts
        on listed_pairs.movie_id = training_counts.movie_id
    group by listed_pairs.method

),

judged_measures as (

    select
        method,
        sum(validation_hits) as validation_hits,
        sum(expected_hits) as expected_hits,
        sum(standardized_excess) as standardized_excess,
        sum(num_judging_raters) as num_judgements,
        avg(genre_jaccard) as genre_agreement,
        avg(support) as mean_support,
        percentile(support, 0.5) as median_support
    from pair_measures
    group by method

),

all_methods as (

    -- Every method, listed or not; content_genome where the lists have it (a data set with
    -- a tag genome).
    select
        listed_methods.method,
        case
            when listed_methods.method in ('content', 'content_genome') then 'content'
            when listed_methods.method = 'popularity' then 'baseline'
            else 'collaborative'
        end as method_kind
    from (
        values
        {%- for method in methods + matrix_similarity_methods() + ['content', 'popularity'] %}
            ('{{ method }}'){{ ',' if not loop.last }}
        {%- endfor %}
        union
        select method
        from list_measures
        where method = 'content_genome'
    ) as listed_methods (method)

),

list_slots as (

    -- A method's excess hits are per list slot of a judging rater: every judged anchor's
    -- raters with a validation rating, times top_n (the same for every method, so a slot
    -- left empty, or holding a movie the rater already rated, adds nothing). Its
    -- standardized excess is per list slot of a judged anchor: their number times top_n.
    select
        sum(num_judging_raters) * {{ var('top_n') }} as num_slots,
        count(*) * {{ var('top_n') }} as num_anchor_slots
    from judged_anchors

),

measured as (

    select
        all_methods.method,
        all_methods.method_kind,
        coalesce(list_measures.num_listed_movies, 0) as num_listed_movies,
        coalesce(list_measures.num_listed_movies, 0)
        / (select count(*) from catalog) as catalog_coverage,
        coalesce(list_measures.num_listed_rated_movies, 0)
        / (select count(*) from training_counts) as rated_movie_coverage,
        coalesce(list_measures.num_listed_pairs, 0) as num_listed_pairs,
        coalesce(judged_measures.validation_hits, 0) as validation_hits,
        coalesce(judged_measures.expected_hits, 0) as expected_hits,
        coalesce(judged_measures.num_judgements, 0) as num_judgements,
        list_slots.num_slots,
        judged_measures.validation_hits / nullif(judged_measures.num_judgements, 0) as hit_rate,
        judged_measures.validation_hits / nullif(judged_measures.expected_hits, 0)
            as co_occurrence_lift,
        (coalesce(judged_measures.validation_hits, 0) - coalesce(judged_measures.expected_hits, 0))
        / list_slots.num_slots as excess_hit_rate,
        coalesce(judged_measures.standardized_excess, 0) / list_slots.num_anchor_slots
            as mean_standardized_excess,
        judged_measures.genre_agreement,
        judged_measures.mean_support,
        judged_measures.median_support
    from all_methods
    cross join list_slots
    left join list_measures
        on all_methods.method = list_measures.method
    left join judged_measures
        on all_methods.method = judged_measures.method

),

served as (

    -- The best of each kind: the collaborative method fct_similar_movies serves, and the
    -- content method that completes its lists (one window: the two specifications are equal).
    select
        *,
        method_kind = 'collaborative'
        and row_number() over (
            partition by method_kind
            order by mean_standardized_excess desc, method asc
        ) = 1 as is_served,
        method_kind = 'content'
        and row_number() over (
            partition by method_kind
            order by mean_standardized_excess desc, method asc
        ) = 1 as is_served_content
    from measured

)

select * from served
