"""Per-user top-N recommendations of movies the user has not rated."""

from python_jobs import pipeline


def model(dbt, session):
    dbt.config(materialized="table")
    return pipeline.recommendations_table(
        registry=dbt.ref("ml_als_model"),
        ratings=dbt.ref("int_ratings_validated"),
        movies=dbt.ref("dim_movies"),
        top_n=dbt.config.get("top_n"),
    )
