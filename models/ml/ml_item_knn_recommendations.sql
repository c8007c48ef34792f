-- Item-kNN lists of the tuned cell (the highest validation NDCG@k in ml_item_knn_tuning), by
-- purpose: fitted on each validation carving's training part for its (sampled) validation
-- users ('validation'), on train + validation for the users with a test rating
-- ('evaluation'), and on every validated rating, with the cosine path's pair aggregates, for
-- every user ('serving'). Every scope goes through one item_knn_lists query
-- (macros/item_knn.sql), keyed by `scope`.
--
-- This query is the definition. The var `knn_engine` (auto by default) may build the same
-- rows with sparse products in Spark tasks instead (python_jobs/item_knn.py, config
-- `python_engine` in the YAML).
{%- set carvings = range(var('validation_carvings')) | list %}
{%- set validation_depth = [var('top_n'), var('blend_depth')] | max %}
with

splits as (

    select
        user_id,
        movie_id,
        rating,
        split,
        validation_carving
    from {{ ref('ml_rating_splits') }}

),

validated_ratings as (

    select
        user_id,
        movie_id,
        rating
    from {{ ref('int_ratings_validated') }}

),

pair_scores as (

    select
        movie1_id,
        movie2_id,
        num_pairs,
        sum_xy
    from {{ ref('int_movie_pair_scores') }}

),

tuning as (

    select
        num_neighbours,
        min_co_raters,
        is_best
    from {{ ref('ml_item_knn_tuning') }}

),

non_test_ratings as (

    select
        user_id,
        movie_id,
        rating
    from splits
    where split != 'test'

),

-- noqa: disable=LT02
{% for carving in carvings %}

carving_{{ carving }}_ratings as (

    -- carving {{ carving }}'s training part: the non-test ratings but its validation ones
    select
        user_id,
        movie_id,
        rating
    from splits
    where split != 'test' and coalesce(validation_carving != {{ carving }}, true)

),

carving_{{ carving }}_pairs as (

    {{ movie_pair_self_join('carving_' ~ carving ~ '_ratings', var('min_co_raters'), ['rating']) }}

),

{% endfor %}
-- noqa: enable=LT02

non_test_pairs as (

    -- macros/movie_pairs.sql: the cosine path's pruning and self-join, over train + validation
    {{ movie_pair_self_join('non_test_ratings', var('min_co_raters'), ['rating']) }}

),

fit_ratings as (

    {% for carving in carvings %}
        select
            'validation_{{ carving }}' as purpose,
            user_id,
            movie_id,
            rating
        from carving_{{ carving }}_ratings

        union all
    {% endfor %}

    select
        'evaluation' as purpose,
        user_id,
        movie_id,
        rating
    from non_test_ratings

    union all

    select
        'serving' as purpose,
        user_id,
        movie_id,
        rating
    from validated_ratings

),

fit_pair_aggregates as (

    {% for carving in carvings %}
        select
            'validation_{{ carving }}' as purpose,
            movie1_id,
            movie2_id,
            count(*) as num_pairs,
            sum(rating1 * rating2) as sum_xy
        from carving_{{ carving }}_pairs
        group by movie1_id, movie2_id

        union all
    {% endfor %}

    select
        'evaluation' as purpose,
        movie1_id,
        movie2_id,
        count(*) as num_pairs,
        sum(rating1 * rating2) as sum_xy
    from non_test_pairs
    group by movie1_id, movie2_id

    union all

    select
        'serving' as purpose,
        movie1_id,
        movie2_id,
        num_pairs,
        sum_xy
    from pair_scores

),

listed_users as (

    -- macros/validation_users.sql: each carving's sampled validation users
    select
        concat('validation_', validation_carving) as purpose,
        user_id
    from ({{ sampled_validation_users('splits') }}) as sampled_users

    union all

    select distinct
        'evaluation' as purpose,
        user_id
    from splits
    where split = 'test'

    union all

    select distinct
        'serving' as purpose,
        user_id
    from validated_ratings

),

best_cells as (

    select
        scopes.purpose,
        tuning.num_neighbours as k,
        tuning.min_co_raters
    from tuning
    cross join (
        values
        {% for carving in carvings -%}
            ('validation_{{ carving }}'),
        {% endfor -%}
        ('evaluation'), ('serving')
    ) as scopes (purpose)
    where tuning.is_best

),

lists as (

    {{ item_knn_lists(
        ratings='fit_ratings',
        pair_aggregates='fit_pair_aggregates',
        users='listed_users',
        cells='best_cells',
        depth=[var('top_n'), var('metric_curve_max_k'), var('blend_depth')] | max) }}

),

final as (

    -- Test-time lists are as deep as the metric curves and the blend read; the others as
    -- deep as the blend reads.
    select
        case when lists.purpose like 'validation_%' then 'validation' else lists.purpose end
            as purpose,
        case
            when lists.purpose like 'validation_%'
                then cast(substring(lists.purpose, 12) as int)
        end as carving,
        lists.user_id,
        lists.recommendation_rank,
        lists.movie_id,
        lists.score
    from lists
    where
        lists.purpose = 'evaluation'
        or lists.recommendation_rank <= {{ validation_depth }}

)

select * from final
