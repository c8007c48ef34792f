-- The served recommender: of every ranking recommender's tuned cell, the one with the
-- highest validation NDCG@k (ties: the name first in alphabetical order).
with

popularity as (

    select * from {{ ref('ml_popularity_tuning') }}

),

item_knn as (

    select * from {{ ref('ml_item_knn_tuning') }}

),

ease as (

    select * from {{ ref('ml_ease_tuning') }}

),

implicit_als as (

    select * from {{ ref('ml_implicit_als_tuning') }}

),

tuned_cells as (

    {% for tuning in ['popularity', 'item_knn', 'ease', 'implicit_als'] %}
        select
            recommender,
            params,
            ndcg_at_k as validation_ndcg_at_k,
            precision_at_k as validation_precision_at_k
        from {{ tuning }}
        where is_best
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

served as (

    select
        min_by(
            recommender,
            named_struct('ndcg_descending', -validation_ndcg_at_k, 'name', recommender)
        ) as recommender
    from tuned_cells

),

flagged as (

    select
        tuned_cells.*,
        tuned_cells.recommender = served.recommender as is_served
    from tuned_cells
    cross join served

)

select * from flagged
