"""Item-kNN lists with sparse products (var ``knn_engine: numpy``, the default).

The SQL models (``item_knn_lists`` in ``macros/item_knn.sql``, doc ``item_knn``) are the
readable definition of the recommender; ``knn_engine: sql`` builds them. Their costly step is
the join of the fit's ratings with the candidates' neighbours: every rating meets the k
movies it is a neighbour of, ratings x k rows to aggregate per cell (1e8 rows at 1M ratings).
This module computes the same lists in two steps:

1. **Neighbours, on Spark** (:func:`neighbours`). sim(i, j) = sum_xy / √(SS_i · SS_j) over the
   scope's pair aggregates, with the SQL's pruning and co-rater floors, and each movie's
   ``max_k`` nearest neighbours under every floor by the SQL's window: the same expressions
   in a DataFrame plan, so the same doubles. They are at most movies x ``max_k`` rows per
   floor, collected to the driver.
2. **Scores, with scipy on the driver** (:func:`top_n_lists`). With X the scope's 0/1
   user x movie matrix and N the movie x movie matrix holding sim(i, j) at (i, j) for the
   k neighbours i of j, the users' scores are X·N, a block of users at a time
   (:func:`python_jobs.scoring.blocked_top_n`).

Driver memory: the scope's ratings as sparse matrices (about 30 bytes a rating), the
neighbours (about 30 bytes each) and one block of 2,048 users x movies dense scores
(160 MB at 10,000 movies).

X·N adds a user's similarities in another order than Spark's ``sum``: scores agree with the
SQL's to about 1e-15 (tests hold both engines to the same numpy reference).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, RATING, SCORE
from python_jobs.scoring import Interactions, blocked_top_n

FLOOR = "min_co_raters"
NEIGHBOUR_ID = "neighbour_id"
SIMILARITY = "similarity"
NEIGHBOUR_RANK = "neighbour_rank"


def neighbours(
    *,
    ratings: DataFrame,
    pair_aggregates: DataFrame,
    floors: Sequence[int],
    max_k: int,
    min_co_raters: int,
) -> pd.DataFrame:
    """Every movie's ``max_k`` nearest neighbours under each co-rater floor, collected.

    Parameters
    ----------
    ratings
        ``user_id``, ``movie_id``, ``rating``: every rating of the fit scope (SS_i and the
        raters of i are counted over them).
    pair_aggregates
        ``movie1_id < movie2_id``, ``num_pairs``, ``sum_xy`` over the scope's co-raters.
    floors
        The co-rater floors: a pair counts under floor f when ``num_pairs >= f``.
    max_k, min_co_raters
        Neighbours kept per movie and floor; raters each movie of a pair needs.

    Returns
    -------
    pandas.DataFrame
        ``min_co_raters`` (the floor), ``movie_id``, ``neighbour_id``, ``similarity``,
        ``neighbour_rank`` (1..max_k: highest similarity, then more co-raters, then lower id).
    """
    totals = (
        ratings.groupBy(MOVIE_ID)
        .agg(
            sf.count(sf.lit(1)).alias("num_raters"),
            sf.sum(sf.col(RATING) * sf.col(RATING)).alias("sum_squares"),
        )
        .where(sf.col("num_raters") >= min_co_raters)
    )

    def side(number: int) -> DataFrame:
        return totals.select(
            sf.col(MOVIE_ID).alias(f"movie{number}_id"),
            sf.col("sum_squares").alias(f"sum_squares{number}"),
        )

    similarities = (
        pair_aggregates.join(side(1), "movie1_id")
        .join(side(2), "movie2_id")
        .select(
            "movie1_id",
            "movie2_id",
            "num_pairs",
            (sf.col("sum_xy") / sf.sqrt(sf.col("sum_squares1") * sf.col("sum_squares2"))).alias(
                SIMILARITY
            ),
        )
    )
    directed = similarities.select(
        sf.inline(
            sf.array(
                *(
                    sf.struct(
                        sf.col(movie).alias(MOVIE_ID),
                        sf.col(neighbour).alias(NEIGHBOUR_ID),
                        "num_pairs",
                        SIMILARITY,
                    )
                    for movie, neighbour in [("movie1_id", "movie2_id"), ("movie2_id", "movie1_id")]
                )
            )
        )
    )
    session = ratings.sparkSession
    floor_frame = session.createDataFrame([(int(f),) for f in sorted(set(floors))], f"{FLOOR} int")
    order = Window.partitionBy(FLOOR, MOVIE_ID).orderBy(
        sf.col(SIMILARITY).desc(), sf.col("num_pairs").desc(), sf.col(NEIGHBOUR_ID).asc()
    )
    ranked = (
        directed.join(sf.broadcast(floor_frame), sf.col("num_pairs") >= sf.col(FLOOR))
        .withColumn(NEIGHBOUR_RANK, sf.row_number().over(order))
        .where(sf.col(NEIGHBOUR_RANK) <= int(max_k))
    )
    return ranked.select(
        sf.col(FLOOR).cast("int").alias(FLOOR),
        sf.col(MOVIE_ID).cast("int").alias(MOVIE_ID),
        sf.col(NEIGHBOUR_ID).cast("int").alias(NEIGHBOUR_ID),
        SIMILARITY,
        sf.col(NEIGHBOUR_RANK).cast("int").alias(NEIGHBOUR_RANK),
    ).toPandas()


def top_n_lists(
    *,
    interactions: Interactions,
    nearest: pd.DataFrame,
    k: int,
    user_ids: np.ndarray,
    top_n: int,
) -> pd.DataFrame:
    """Each user's ``top_n`` item-kNN list of one cell (``k`` and the floor of ``nearest``).

    ``nearest`` holds one floor's rows of :func:`neighbours`; every movie in it must be a
    column of ``interactions`` (the fit scope the neighbours were found in). The list:
    unrated scored movies by score, ties to the lower id; then, when that is short, the
    scope's most-rated unrated movies (ties to the lower id) with score 0.

    Returns
    -------
    pandas.DataFrame
        ``user_id``, ``recommendation_rank``, ``movie_id``, ``score``.
    """
    movie_ids = interactions.movie_ids
    n_movies = len(movie_ids)
    cut = nearest[nearest[NEIGHBOUR_RANK] <= k]
    rows = _columns_of(movie_ids, cut[NEIGHBOUR_ID].to_numpy())
    columns = _columns_of(movie_ids, cut[MOVIE_ID].to_numpy())
    similarity = scipy.sparse.csr_matrix(
        (cut[SIMILARITY].to_numpy(dtype=np.float64), (rows, columns)), shape=(n_movies, n_movies)
    )
    # A movie no rated neighbour reaches scores 0 (no similarity is 0: ratings are positive).
    # Such movies come after every scored one, most-rated first: they get -1, -2, ... in
    # that order, and the list shows them with score 0.
    popularity_order = np.lexsort((movie_ids, -interactions.movie_counts))
    completion = np.empty(n_movies)
    completion[popularity_order] = -1.0 - np.arange(n_movies)

    def scores(rows_of_users: np.ndarray, history: scipy.sparse.csr_matrix) -> np.ndarray:
        summed = (history @ similarity).toarray()
        return np.where(summed > 0, summed, completion)

    lists = blocked_top_n(
        interactions=interactions,
        scores=scores,
        user_ids=user_ids,
        top_n=top_n,
        tie_order=np.arange(n_movies),  # ties among scored movies: lower id first
    )
    lists[SCORE] = lists[SCORE].clip(lower=0.0)
    return lists


def _columns_of(movie_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    found = np.searchsorted(movie_ids, wanted)
    inside = found < len(movie_ids)
    inside[inside] = movie_ids[found[inside]] == wanted[inside]
    if not inside.all():
        raise ValueError(
            f"item-kNN: neighbour movie {wanted[~inside][0]} has no rating in the fit scope; "
            "the pair aggregates and the ratings must come from the same scope"
        )
    return found
