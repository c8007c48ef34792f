"""The blend's lists by purpose: the recommenders' lists fused with the tuned weights."""

from python_jobs import ranking_tables


def model(dbt, session):
    return ranking_tables.blend_lists_table(
        splits=dbt.ref("ml_rating_splits"),
        recommender_lists={
            "popularity": dbt.ref("ml_popularity_recommendations"),
            "item_knn": dbt.ref("ml_item_knn_recommendations"),
            "ease": dbt.ref("ml_ease_recommendations"),
            "implicit_als": dbt.ref("ml_implicit_als_recommendations"),
        },
        tuning_table=dbt.ref("ml_blend_tuning"),
        top_n=dbt.config.get("top_n"),
        evaluation_depth=dbt.config.get("evaluation_depth"),
        blend_depth=dbt.config.get("blend_depth"),
    )
