"""The most-popular baseline: test-time lists and served lists, by purpose."""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.recommender_lists_table(
        recommender="popularity",
        splits=dbt.ref("ml_rating_splits"),
        ratings=dbt.ref("int_ratings_validated"),
        tuning_table=dbt.ref("ml_popularity_tuning"),
        top_n=dbt.config.get("top_n"),
        evaluation_depth=dbt.config.get("evaluation_depth"),
    )
