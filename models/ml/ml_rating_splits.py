"""The ALS seed's train / validation / test split of the validated ratings."""

from python_jobs import pipeline


def model(dbt, session):
    dbt.config(materialized="table")
    return pipeline.split_table(
        ratings=dbt.ref("int_ratings_validated"),
        weights=dbt.config.get("split_weights"),
        seed=dbt.config.get("seed"),
    )
