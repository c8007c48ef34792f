"""The served recommender: the best mean validation NDCG over the carvings, a tie within the
spread going to the blend (python_jobs/selection.py)."""

from python_jobs import selection


def model(dbt, session):
    tuning = {
        "popularity": dbt.ref("ml_popularity_tuning"),
        "item_knn": dbt.ref("ml_item_knn_tuning"),
        "ease": dbt.ref("ml_ease_tuning"),
        "implicit_als": dbt.ref("ml_implicit_als_tuning"),
    }
    params = {name: selection.best_params_json(table) for name, table in tuning.items()}
    params["blend"] = selection.blend_params_json(dbt.ref("ml_blend_tuning"))
    return selection.selection_table(
        splits=dbt.ref("ml_rating_splits"),
        recommender_lists={
            "popularity": dbt.ref("ml_popularity_recommendations"),
            "item_knn": dbt.ref("ml_item_knn_recommendations"),
            "ease": dbt.ref("ml_ease_recommendations"),
            "implicit_als": dbt.ref("ml_implicit_als_recommendations"),
            "blend": dbt.ref("ml_blend_recommendations"),
        },
        params=params,
        top_n=dbt.config.get("top_n"),
        max_users=dbt.config.get("max_users"),
    )
