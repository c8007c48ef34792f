"""Every recommender scored on the test split under the same protocol, one row each."""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.recommender_evaluation_table(
        splits=dbt.ref("ml_rating_splits"),
        registry=dbt.ref("ml_als_model"),
        als_lists=dbt.ref("ml_als_test_lists"),
        recommender_lists={
            "popularity": dbt.ref("ml_popularity_recommendations"),
            "item_knn": dbt.ref("ml_item_knn_recommendations"),
            "ease": dbt.ref("ml_ease_recommendations"),
            "implicit_als": dbt.ref("ml_implicit_als_recommendations"),
            "blend": dbt.ref("ml_blend_recommendations"),
        },
        selection=dbt.ref("ml_recommender_selection"),
        top_n=dbt.config.get("top_n"),
        movies=dbt.ref("dim_movies"),
    )
