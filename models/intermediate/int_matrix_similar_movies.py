"""The similar-movie methods computed from the rating matrix (EASE's item weights, adjusted
cosine), fitted on the training split and on every rating."""

from python_jobs import similar_items


def model(dbt, session):
    return similar_items.matrix_similar_movies_table(
        dbt.ref("int_training_ratings"),
        dbt.ref("int_ratings_validated"),
        lam=dbt.config.get("l2_lambda"),
        min_raters=dbt.config.get("min_raters"),
        min_co_raters=dbt.config.get("min_co_raters"),
        max_movies=dbt.config.get("max_movies"),
        depth=dbt.config.get("top_n"),
    )
