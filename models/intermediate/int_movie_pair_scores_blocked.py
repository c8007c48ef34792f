"""The cosine seed's pair aggregates as blocked sparse products (var `pair_engine: blocked`).

Same rows and figures as the SQL self-join (python_jobs/pair_products.py says why they are
exact); `int_movie_pair_scores` reads this table instead of aggregating `int_movie_pairs`.
"""

from python_jobs import pair_products


def model(dbt, session):
    return pair_products.pair_scores(
        session,
        dbt.ref("int_ratings_validated"),
        min_raters=int(dbt.config.get("min_raters")),
        max_ratings=int(dbt.config.get("max_ratings")),
    )
