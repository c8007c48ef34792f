"""EASE: one row per grid cell, fitted on train, scored on validation."""

from python_jobs import ranking_tables


def model(dbt, session):
    return ranking_tables.recommender_tuning_table(
        recommender="ease",
        splits=dbt.ref("ml_rating_splits"),
        grid={"l2_lambda": dbt.config.get("l2_lambdas")},
        fixed={"max_movies": dbt.config.get("max_movies")},
        top_n=dbt.config.get("top_n"),
        max_users=dbt.config.get("max_users"),
    )
