"""The blend's weights over the recommenders' lists, tuned on every validation carving."""

from python_jobs import ranking_tables


def model(dbt, session):
    return ranking_tables.blend_tuning_table(
        splits=dbt.ref("ml_rating_splits"),
        recommender_lists={
            "popularity": dbt.ref("ml_popularity_recommendations"),
            "item_knn": dbt.ref("ml_item_knn_recommendations"),
            "ease": dbt.ref("ml_ease_recommendations"),
            "implicit_als": dbt.ref("ml_implicit_als_recommendations"),
        },
        top_n=dbt.config.get("top_n"),
        max_users=dbt.config.get("max_users"),
    )
