"""The most-popular baseline on the validation split (no hyperparameter: one row)."""

from python_jobs import ranking_tables


def model(dbt, session):
    return ranking_tables.recommender_tuning_table(
        recommender="popularity",
        splits=dbt.ref("ml_rating_splits"),
        grid={},
        top_n=dbt.config.get("top_n"),
        max_users=dbt.config.get("max_users"),
    )
