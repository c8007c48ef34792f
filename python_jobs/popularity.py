"""The most-popular baseline: every user gets the most-rated movies they have not rated."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, PREDICTION, RANK, RATING, SCORE, USER_ID
from python_jobs.metrics import check_positive_int

N_RATINGS = "n_ratings"
POPULARITY_RANK = "popularity_rank"


def popularity_order(popularity_source: DataFrame) -> DataFrame:
    """Movies with ``n_ratings``, mean rating as ``prediction`` and a dense
    ``popularity_rank`` (1 = most rated; ties by movie id), without a global window:
    rank = (movies with more ratings) + (position among movies with as many ratings).
    """
    movie_stats = popularity_source.groupBy(MOVIE_ID).agg(
        sf.count(sf.lit(1)).alias(N_RATINGS), sf.avg(RATING).cast("double").alias(PREDICTION)
    )
    per_count = movie_stats.groupBy(N_RATINGS).agg(sf.count(sf.lit(1)).alias("n_movies"))
    above = (
        per_count.alias("a")
        .join(per_count.alias("b"), sf.col(f"b.{N_RATINGS}") > sf.col(f"a.{N_RATINGS}"), "left")
        .groupBy(sf.col(f"a.{N_RATINGS}").alias(N_RATINGS))
        .agg(sf.coalesce(sf.sum("b.n_movies"), sf.lit(0)).alias("n_above"))
    )
    within = Window.partitionBy(N_RATINGS).orderBy(MOVIE_ID)
    return movie_stats.join(above, on=N_RATINGS).withColumn(
        POPULARITY_RANK, (sf.col("n_above") + sf.row_number().over(within)).cast("int")
    )


def popularity_top_n(
    *, popularity_source: DataFrame, users: DataFrame, exclude: DataFrame, top_n: int
) -> DataFrame:
    """Each user's ``top_n`` most-rated movies of ``popularity_source`` not in ``exclude``.

    A user with ``s`` excluded movies finds its top ``top_n`` among the first
    ``top_n + s`` movies of the popularity order, so each user is joined to just those
    (``O(ratings + users * top_n)`` rows, no cross join).

    Returns
    -------
    DataFrame
        ``user_id``, ``movie_id``, ``prediction`` (the movie's mean rating in
        ``popularity_source``), ``score`` (its number of ratings there), RANK.
    """
    check_positive_int(top_n, name="top_n")
    ranked_movies = popularity_order(popularity_source)
    excluded = exclude.select(USER_ID, MOVIE_ID).distinct()
    n_excluded = excluded.groupBy(USER_ID).agg(sf.count(sf.lit(1)).alias("n_excluded"))
    candidates = (
        users.select(USER_ID)
        .distinct()
        .join(n_excluded, on=USER_ID, how="left")
        .select(
            USER_ID,
            sf.explode(
                sf.sequence(sf.lit(1), sf.lit(top_n) + sf.coalesce(sf.col("n_excluded"), sf.lit(0)))
            ).alias(POPULARITY_RANK),
        )
        .join(ranked_movies, on=POPULARITY_RANK, how="inner")
        .join(excluded, on=[USER_ID, MOVIE_ID], how="left_anti")
    )
    order = Window.partitionBy(USER_ID).orderBy(POPULARITY_RANK)
    return (
        candidates.withColumn(RANK, sf.row_number().over(order))
        .where(sf.col(RANK) <= top_n)
        .select(
            USER_ID,
            MOVIE_ID,
            PREDICTION,
            sf.col(N_RATINGS).cast("double").alias(SCORE),
            RANK,
        )
    )
