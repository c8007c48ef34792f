"""ALS against the most-popular baseline on the test split: rating and ranking metrics."""

from python_jobs import pipeline


def model(dbt, session):
    dbt.config(materialized="table")
    return pipeline.evaluation_table(
        registry=dbt.ref("ml_als_model"),
        splits=dbt.ref("ml_rating_splits"),
        top_n=dbt.config.get("top_n"),
    )
