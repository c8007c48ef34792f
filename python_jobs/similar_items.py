"""The similar-movie methods computed from the rating matrix: ``int_matrix_similar_movies``.

Two candidates of ``ml_similarity_evaluation`` that the pair aggregates cannot give:

``ease``
    EASE's item weights (:mod:`python_jobs.ease`): ``B[i, j]`` is how much having rated movie
    ``i`` adds to the score of movie ``j``, a ridge regression of ``j``'s raters on every other
    movie's, so co-raters that other movies already explain count less. Movie ``i``'s list is
    its row of ``B``, positive weights only.
``adjusted_cosine``
    Sarwar, Karypis, Konstan and Riedl's adjusted cosine (WWW 2001): the cosine over the
    co-raters of ``i`` and ``j`` of their ratings minus each user's mean rating (over every
    rating of the scope), ``Σ c_ui c_uj / (sqrt(Σ c_ui²) sqrt(Σ c_uj²))``, the sums over the
    co-raters. Positive values only. It needs sums of centred ratings per pair, which the
    pair aggregates do not hold.

The same eligibility as the pair-aggregate methods (macros/similarity.sql): only movies with
``min_raters`` raters are modelled (those that have pair aggregates), and only pairs with
``min_co_raters`` co-raters are listed. Ranked by score (to 12 decimals), then more
co-raters, then the smaller movie id.

Size: the ``max_movies`` most-rated eligible movies; the products are dense ``n x n``
float64 arrays (8·n² bytes each, about five at a time: 1.4 GB at the default cap of 6,000
movies) in the Spark task that fits a scope.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs import ease
from python_jobs.columns import MOVIE_ID, RATING, SCORE, USER_ID
from python_jobs.scopes import JOB
from python_jobs.tasks import run_jobs

SCOPE = "scope"
METHOD = "method"
SIMILAR_MOVIE_ID = "similar_movie_id"
NUM_PAIRS = "num_pairs"
SIMILARITY_RANK = "similarity_rank"
METHODS = ("ease", "adjusted_cosine")
# the fit scopes: the training split (what ml_similarity_evaluation judges) and every rating
SCOPES = {0: "train", 1: "all"}
LIST_COLUMNS = [METHOD, MOVIE_ID, SIMILAR_MOVIE_ID, SCORE, NUM_PAIRS, SIMILARITY_RANK]
LIST_SCHEMA = (
    "method string, movie_id int, similar_movie_id int, score double, num_pairs bigint, "
    "similarity_rank int"
)


def _modelled(ratings: pd.DataFrame, min_raters: int, max_movies: int) -> tuple:
    """The modelled movies' ids (ascending) and the binary and centred-rating
    ``users x movies`` CSR matrices over them (users' means over every rating given)."""
    centred = ratings[RATING] - ratings.groupby(USER_ID)[RATING].transform("mean")
    counts = ratings.groupby(MOVIE_ID).size()
    counts = counts[counts >= min_raters]
    order = np.lexsort((counts.index.to_numpy(), -counts.to_numpy()))[:max_movies]
    movie_ids = np.sort(counts.index.to_numpy()[order])
    inside = ratings[MOVIE_ID].isin(movie_ids).to_numpy()
    user_ids, rows = np.unique(ratings.loc[inside, USER_ID].to_numpy(), return_inverse=True)
    cols = np.searchsorted(movie_ids, ratings.loc[inside, MOVIE_ID].to_numpy())
    shape = (len(user_ids), len(movie_ids))
    binary = scipy.sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    values = centred.to_numpy()[inside]
    centred_matrix = scipy.sparse.csr_matrix((values, (rows, cols)), shape=shape)
    return movie_ids, binary, centred_matrix


def adjusted_cosine(binary: scipy.sparse.csr_matrix, centred: scipy.sparse.csr_matrix):
    """The adjusted cosine of every pair of columns, over their co-raters (0 where a
    co-rater sum of squares is 0)."""
    cross = (centred.T @ centred).toarray()
    squares = centred.multiply(centred).tocsr()
    left = (squares.T @ binary).toarray()  # Σ c_ui² over the co-raters of i and j
    right = left.T  # Σ c_uj² over the same users
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = cross / (np.sqrt(left) * np.sqrt(right))
    return np.where((left > 0) & (right > 0), scores, 0.0)


def ranked_lists(
    scores: np.ndarray, co_raters: np.ndarray, movie_ids: np.ndarray, depth: int
) -> pd.DataFrame:
    """Each row's ``depth`` columns of highest finite score, then more co-raters, then the
    smaller id: ``movie_id``, ``similar_movie_id``, ``score``, ``num_pairs``,
    ``similarity_rank``. Scores are compared to 12 decimals: equal scores reached through
    different rounding (two adjusted cosines of exactly 1) tie."""
    rows, cols = np.nonzero(np.isfinite(scores))
    values = scores[rows, cols]
    pairs = co_raters[rows, cols]
    order = np.lexsort((cols, -pairs, -np.round(values, 12), rows))
    rows, cols, values, pairs = rows[order], cols[order], values[order], pairs[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left") + 1
    kept = rank <= depth
    return pd.DataFrame(
        {
            MOVIE_ID: movie_ids[rows[kept]].astype(np.int32),
            SIMILAR_MOVIE_ID: movie_ids[cols[kept]].astype(np.int32),
            SCORE: values[kept].astype(np.float64),
            NUM_PAIRS: pairs[kept].astype(np.int64),
            SIMILARITY_RANK: rank[kept].astype(np.int32),
        }
    )


def matrix_neighbours(
    ratings: pd.DataFrame,
    *,
    lam: float,
    min_raters: int,
    min_co_raters: int,
    max_movies: int,
    depth: int,
) -> pd.DataFrame:
    """Both methods' lists from a frame of (``user_id``, ``movie_id``, ``rating``), one
    rating per user and movie: LIST_COLUMNS."""
    ratings = ratings[[USER_ID, MOVIE_ID, RATING]]
    movie_ids, binary, centred = _modelled(ratings, min_raters, max_movies)
    if len(movie_ids) == 0:
        empty = ranked_lists(np.zeros((0, 0)), np.zeros((0, 0)), movie_ids, depth)
        return empty.assign(**{METHOD: pd.Series([], dtype="object")})[LIST_COLUMNS]
    co_raters = (binary.T @ binary).toarray()
    outside = co_raters < min_co_raters
    np.fill_diagonal(outside, True)
    lists = []
    for method in METHODS:
        if method == "ease":
            scores = ease.fit_weights(binary, lam)
        else:
            scores = adjusted_cosine(binary, centred)
        scores[outside | ~(scores > 0)] = -np.inf
        lists.append(ranked_lists(scores, co_raters, movie_ids, depth).assign(**{METHOD: method}))
        del scores
    return pd.concat(lists, ignore_index=True)[LIST_COLUMNS]


def _scope_task(params: dict, frame: pd.DataFrame) -> pd.DataFrame:
    return matrix_neighbours(frame, **params)


def matrix_similar_movies_table(
    train: DataFrame,
    ratings: DataFrame,
    *,
    lam: float,
    min_raters: int,
    min_co_raters: int,
    max_movies: int,
    depth: int,
) -> DataFrame:
    """Both methods' lists fitted on ``train`` (scope ``train``) and on ``ratings`` (scope
    ``all``), each scope in one Spark task (:func:`python_jobs.tasks.run_jobs`)."""
    if not lam > 0:
        raise ValueError(f"similarity_ease_lambda must be > 0, got {lam!r}")
    columns = [USER_ID, MOVIE_ID, sf.col(RATING).cast("double").alias(RATING)]
    rows = train.select(sf.lit(0).alias(JOB), *columns).unionByName(
        ratings.select(sf.lit(1).alias(JOB), *columns)
    )
    params = {
        "lam": float(lam),
        "min_raters": int(min_raters),
        "min_co_raters": int(min_co_raters),
        "max_movies": int(max_movies),
        "depth": int(depth),
    }
    lists = run_jobs(rows, dict.fromkeys(SCOPES, params), _scope_task, LIST_SCHEMA)
    names = []
    for job, name in SCOPES.items():
        names += [sf.lit(job), sf.lit(name)]
    scope = sf.element_at(sf.create_map(*names), sf.col(JOB))
    return lists.select(scope.alias(SCOPE), *LIST_COLUMNS)
