"""Every recommender's test precision, recall, NDCG and MAP at k = 1..metric_curve_max_k."""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.metric_curves_table(
        splits=dbt.ref("ml_rating_splits"),
        als_lists=dbt.ref("ml_als_test_lists"),
        recommender_lists={
            "popularity": dbt.ref("ml_popularity_recommendations"),
            "item_knn": dbt.ref("ml_item_knn_recommendations"),
            "ease": dbt.ref("ml_ease_recommendations"),
            "implicit_als": dbt.ref("ml_implicit_als_recommendations"),
            "blend": dbt.ref("ml_blend_recommendations"),
        },
        max_k=dbt.config.get("max_k"),
    )
