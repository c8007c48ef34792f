"""EASE with its tuned cell: test-time lists and served lists, by purpose."""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.recommender_lists_table(
        recommender="ease",
        splits=dbt.ref("ml_rating_splits"),
        ratings=dbt.ref("int_ratings_validated"),
        tuning_table=dbt.ref("ml_ease_tuning"),
        fixed={"max_movies": dbt.config.get("max_movies")},
        top_n=dbt.config.get("top_n"),
        evaluation_depth=dbt.config.get("evaluation_depth"),
    )
