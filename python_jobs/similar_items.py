"""EASE's item weights as a similar-movie method: the lists of ``int_ease_similar_movies``.

EASE (:mod:`python_jobs.ease`) fits ``B``, whose entry ``B[i, j]`` is how much having rated
movie ``i`` adds to the score of movie ``j``: a ridge regression of ``j``'s raters on every
other movie's, so the co-raters that other movies already explain count less. Movie ``i``'s
similar movies are the ``j`` of its row with the highest positive weight.

The same eligibility as the pair-aggregate methods (macros/similarity.sql): only movies with
``min_raters`` raters are modelled (those that have pair aggregates), and only pairs with
``min_co_raters`` co-raters are listed. Ranked by weight, then the smaller movie id.

Size: the ``max_movies`` most-rated eligible movies, the weights and co-rater counts as dense
``n x n`` arrays (8·n² and 4·n² bytes) in the Spark task that fits a scope: 430 MB at the
default cap of 6,000 movies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs import ease
from python_jobs.columns import MOVIE_ID, SCORE, USER_ID
from python_jobs.scopes import JOB
from python_jobs.scoring import Interactions, top_columns
from python_jobs.tasks import run_jobs

SCOPE = "scope"
SIMILAR_MOVIE_ID = "similar_movie_id"
NUM_PAIRS = "num_pairs"
SIMILARITY_RANK = "similarity_rank"
# the fit scopes: the training split (what ml_similarity_evaluation judges) and every rating
SCOPES = {0: "train", 1: "all"}
LIST_SCHEMA = (
    "movie_id int, similar_movie_id int, score double, num_pairs bigint, similarity_rank int"
)


def ease_neighbours(
    ratings: pd.DataFrame,
    *,
    lam: float,
    min_raters: int,
    min_co_raters: int,
    max_movies: int,
    depth: int,
) -> pd.DataFrame:
    """Every modelled movie's ``depth`` most similar movies by EASE weight, from a frame of
    (``user_id``, ``movie_id``) ratings: ``movie_id``, ``similar_movie_id``, ``score`` (the
    weight), ``num_pairs`` (co-raters) and ``similarity_rank`` (1 = most similar)."""
    counts = ratings.groupby(MOVIE_ID)[USER_ID].transform("size")
    eligible = ratings.loc[counts >= min_raters, [USER_ID, MOVIE_ID]]
    columns = [MOVIE_ID, SIMILAR_MOVIE_ID, SCORE, NUM_PAIRS, SIMILARITY_RANK]
    if eligible.empty:
        return pd.DataFrame({name: pd.Series([], dtype="int64") for name in columns})
    interactions = Interactions.from_pairs(eligible, max_movies=max_movies)
    weights = ease.fit_weights(interactions.matrix, lam)
    co_raters = (interactions.matrix.T @ interactions.matrix).toarray().astype(np.int32)
    # Listed: a positive weight and enough co-raters (never the movie itself, weight 0).
    weights[(co_raters < min_co_raters) | ~(weights > 0)] = -np.inf
    best = top_columns(weights, depth)
    rows = np.repeat(np.arange(len(best)), best.shape[1])
    cols = best.ravel()
    listed = np.isfinite(weights[rows, cols])
    rows, cols = rows[listed], cols[listed]
    ranks = np.tile(np.arange(1, best.shape[1] + 1), len(best))[listed]
    ids = interactions.movie_ids
    return pd.DataFrame(
        {
            MOVIE_ID: ids[rows].astype(np.int32),
            SIMILAR_MOVIE_ID: ids[cols].astype(np.int32),
            SCORE: weights[rows, cols],
            NUM_PAIRS: co_raters[rows, cols].astype(np.int64),
            SIMILARITY_RANK: ranks.astype(np.int32),
        }
    )


def _scope_task(params: dict, frame: pd.DataFrame) -> pd.DataFrame:
    return ease_neighbours(frame, **params)


def ease_similar_movies_table(
    train: DataFrame,
    ratings: DataFrame,
    *,
    lam: float,
    min_raters: int,
    min_co_raters: int,
    max_movies: int,
    depth: int,
) -> DataFrame:
    """EASE's lists fitted on ``train`` (scope ``train``) and on ``ratings`` (scope ``all``),
    each scope in one Spark task (:func:`python_jobs.tasks.run_jobs`)."""
    if not lam > 0:
        raise ValueError(f"similarity_ease_lambda must be > 0, got {lam!r}")
    rows = train.select(sf.lit(0).alias(JOB), USER_ID, MOVIE_ID).unionByName(
        ratings.select(sf.lit(1).alias(JOB), USER_ID, MOVIE_ID)
    )
    params = {
        "lam": float(lam),
        "min_raters": int(min_raters),
        "min_co_raters": int(min_co_raters),
        "max_movies": int(max_movies),
        "depth": int(depth),
    }
    lists = run_jobs(rows, dict.fromkeys(SCOPES, params), _scope_task, LIST_SCHEMA)
    scope = sf.element_at(sf.create_map(*_map_literals()), sf.col(JOB))
    return lists.select(
        scope.alias(SCOPE), MOVIE_ID, SIMILAR_MOVIE_ID, SCORE, NUM_PAIRS, SIMILARITY_RANK
    )


def _map_literals() -> list:
    pairs = []
    for job, name in SCOPES.items():
        pairs += [sf.lit(job), sf.lit(name)]
    return pairs
