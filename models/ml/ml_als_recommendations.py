"""The ALS seed's recommendations: every user's top-N unrated movies by predicted rating."""

from python_jobs import pipeline


def model(dbt, session):
    return pipeline.als_recommendations_table(
        registry=dbt.ref("ml_als_model"),
        ratings=dbt.ref("int_ratings_validated"),
        movies=dbt.ref("dim_movies"),
        top_n=dbt.config.get("top_n"),
    )
