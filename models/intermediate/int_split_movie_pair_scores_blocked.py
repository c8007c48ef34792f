"""The item-kNN scopes' pair aggregates as blocked sparse products (var `pair_engine: blocked`).

Same rows and figures as the self-join of int_split_movie_pair_scores.sql, which reads this
table instead when the var is set (python_jobs/pair_products.py holds the method).
"""

from python_jobs import pair_products


def model(dbt, session):
    return pair_products.split_pair_scores(
        session,
        dbt.ref("ml_rating_splits"),
        min_raters=int(dbt.config.get("min_raters")),
        min_pairs=int(dbt.config.get("min_pairs")),
        max_ratings=int(dbt.config.get("max_ratings")),
    )
