"""EASE with its tuned cell: validation, test-time and served lists, by purpose."""

from python_jobs import ranking_tables


def model(dbt, session):
    return ranking_tables.recommender_lists_table(
        recommender="ease",
        splits=dbt.ref("ml_rating_splits"),
        ratings=dbt.ref("int_ratings_validated"),
        tuning_table=dbt.ref("ml_ease_tuning"),
        fixed={"max_movies": dbt.config.get("max_movies")},
        top_n=dbt.config.get("top_n"),
        evaluation_depth=dbt.config.get("evaluation_depth"),
        blend_depth=dbt.config.get("blend_depth"),
        max_users=dbt.config.get("max_users"),
    )
