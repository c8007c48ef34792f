"""Item-kNN lists with sparse products (var ``knn_engine: numpy``, the default).

The SQL models (``item_knn_lists`` in ``macros/item_knn.sql``, doc ``item_knn``) are the
readable definition of the recommender; ``knn_engine: sql`` builds them. Their costly step is
the join of the fit's ratings with the candidates' neighbours: every rating meets the k
movies it is a neighbour of, ratings x k rows to aggregate per cell (1e8 rows at 1M ratings).
This module computes the same lists on the driver, in two steps:

1. **Neighbours** (:func:`neighbours`). The scope's pair aggregates as sparse products (the
   co-rater counts XᵀX and the pair sums RᵀR of its 0/1 and rating matrices, as the
   ``pair_engine: blocked`` models compute them), a block of candidate movies at a time;
   sim(i, j) = sum_xy / √(SS_i · SS_j) with the SQL's pruning and co-rater floors, and each
   movie's ``max_k`` nearest neighbours under every floor, in the SQL's order. Counts and
   sums are exact, so the similarities are the SQL's doubles.
2. **Scores** (:func:`top_n_lists`). With X the scope's 0/1 user x movie matrix and N the
   movie x movie matrix holding sim(i, j) at (i, j) for the k neighbours i of j, the users'
   scores are X·N, a block of users at a time (:func:`python_jobs.scoring.blocked_top_n`).

Driver memory: the scope's ratings (about 100 bytes a rating as a frame and four sparse
matrices), one block of candidate movies x movies as dense arrays while its neighbours are
ranked (``BLOCK_ENTRIES`` entries, about 50 bytes each: 100 MB), the neighbours (movies x
``max_k`` per floor, about 20 bytes each) and one block of 2,048 users x movies dense
scores (160 MB at 10,000 movies).

X·N adds a user's similarities in another order than Spark's ``sum``: scores agree with the
SQL's to about 1e-14 (tests hold both engines to the same numpy reference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse

from python_jobs.columns import MOVIE_ID, RATING, SCORE, USER_ID
from python_jobs.scoring import Interactions, blocked_top_n

FLOOR = "min_co_raters"
# Bytes of one process's memory per rating of the fit scope (a frame and four sparse
# matrices), the figure the var knn_numpy_max_ratings is read with.
BYTES_PER_RATING = 100
# Candidate movies x movies a block holds as dense arrays, about 50 bytes an entry.
BLOCK_ENTRIES = 2_000_000
NEIGHBOUR_ID = "neighbour_id"
SIMILARITY = "similarity"
NEIGHBOUR_RANK = "neighbour_rank"


def neighbours(
    ratings: pd.DataFrame,
    *,
    floors: Sequence[int],
    max_k: int,
    min_co_raters: int,
    block_entries: int = BLOCK_ENTRIES,
) -> pd.DataFrame:
    """Every movie's ``max_k`` nearest neighbours under each co-rater floor.

    Parameters
    ----------
    ratings
        ``user_id``, ``movie_id``, ``rating``: every rating of the fit scope.
    floors
        The co-rater floors: a pair counts under floor f when ``num_pairs >= f``.
    max_k, min_co_raters
        Neighbours kept per movie and floor; raters each movie of a pair needs (fewer: the
        movie is pruned, as the pair aggregates' self-join prunes it).
    block_entries
        Candidate movies x movies of one block (its dense products).

    Returns
    -------
    pandas.DataFrame
        ``min_co_raters`` (the floor), ``movie_id``, ``neighbour_id``, ``similarity``,
        ``neighbour_rank`` (1..max_k: highest similarity, then more co-raters, then lower id).

    With X the 0/1 and R the rating matrix over the eligible movies, a block B of candidate
    movies gets its co-rater counts X[:, B]ᵀX and pair sums R[:, B]ᵀR as sparse products,
    made dense: the pair aggregates' ``num_pairs`` and ``sum_xy``, exactly (ratings are
    multiples of 0.5, so every product and sum is a multiple of 0.25 far below 2**53).
    """
    scope = _EligibleScope.of(ratings, min_co_raters=min_co_raters)
    floor_values = sorted({int(f) for f in floors})
    block = max(1, block_entries // max(scope.n_movies, 1))
    frames = [
        _nearest_of_block(scope, lo, min(lo + block, scope.n_movies), floor_values, max_k)
        for lo in range(0, scope.n_movies, block)
    ]
    frames = [frame for group in frames for frame in group]
    if not frames:
        return pd.DataFrame(
            {
                FLOOR: np.zeros(0, np.int32),
                MOVIE_ID: np.zeros(0, np.int32),
                NEIGHBOUR_ID: np.zeros(0, np.int32),
                SIMILARITY: np.zeros(0),
                NEIGHBOUR_RANK: np.zeros(0, np.int32),
            }
        )
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class _EligibleScope:
    """A fit scope's ratings over its eligible movies (enough raters), as the sparse 0/1 and
    rating matrices the neighbours are formed from, with each movie's full sum of squares."""

    movie_ids: np.ndarray
    sum_squares: np.ndarray
    binary: scipy.sparse.csc_matrix
    rated: scipy.sparse.csc_matrix
    binary_rows: scipy.sparse.csr_matrix
    rated_rows: scipy.sparse.csr_matrix

    @property
    def n_movies(self) -> int:
        return len(self.movie_ids)

    @classmethod
    def of(cls, ratings: pd.DataFrame, *, min_co_raters: int) -> _EligibleScope:
        all_ids, all_index = np.unique(ratings[MOVIE_ID].to_numpy(), return_inverse=True)
        user_index = np.unique(ratings[USER_ID].to_numpy(), return_inverse=True)[1]
        values = ratings[RATING].to_numpy(dtype=np.float64)
        n_users = int(user_index.max()) + 1 if len(values) else 0
        # Only eligible movies (enough raters) are rows or columns; SS_i over all i's ratings.
        eligible = np.bincount(all_index, minlength=len(all_ids)) >= min_co_raters
        keep = eligible[all_index]
        movie_ids = all_ids[eligible]
        movie_index = np.cumsum(eligible)[all_index[keep]] - 1
        sum_squares = np.bincount(movie_index, weights=values[keep] ** 2, minlength=len(movie_ids))

        def matrix(data: np.ndarray) -> scipy.sparse.csc_matrix:
            return scipy.sparse.csc_matrix(
                (data[keep], (user_index[keep], movie_index)), shape=(n_users, len(movie_ids))
            )

        binary, rated = matrix(np.ones(len(values))), matrix(values)
        return cls(movie_ids, sum_squares, binary, rated, binary.tocsr(), rated.tocsr())


def _nearest_of_block(
    scope: _EligibleScope, lo: int, hi: int, floors: list[int], max_k: int
) -> list[pd.DataFrame]:
    """The ``max_k`` nearest neighbours of the candidate movies ``lo:hi`` under each floor.

    Rows: the block's candidate movies j; columns: every movie i. The block's co-rater
    counts X[:, B]ᵀX and pair sums R[:, B]ᵀR are sparse products made dense."""
    co_raters = (scope.binary[:, lo:hi].T @ scope.binary_rows).toarray()
    sums = (scope.rated[:, lo:hi].T @ scope.rated_rows).toarray()
    co_raters[np.arange(hi - lo), np.arange(lo, hi)] = 0  # a movie is not its neighbour
    with np.errstate(divide="ignore", invalid="ignore"):
        similarity = sums / np.sqrt(scope.sum_squares[lo:hi, None] * scope.sum_squares[None, :])
    frames = []
    for floor in floors:
        valid = co_raters >= floor
        candidates = valid
        if scope.n_movies > max_k:
            # Only entries at or above a row's max_k-th similarity can be among its
            # max_k nearest; the exact order is sorted among those alone.
            ranked = np.where(valid, similarity, -np.inf)
            kth = -np.partition(-ranked, max_k - 1, axis=1)[:, max_k - 1]
            candidates = valid & (ranked >= kth[:, None])
        rows, columns = np.nonzero(candidates)
        order = np.lexsort((columns, -co_raters[rows, columns], -similarity[rows, columns], rows))
        rows, columns = rows[order], columns[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows) + 1
        near = rank <= max_k
        rows, columns = rows[near], columns[near]
        frames.append(
            pd.DataFrame(
                {
                    FLOOR: np.full(len(rows), floor, dtype=np.int32),
                    MOVIE_ID: scope.movie_ids[lo + rows].astype(np.int32),
                    NEIGHBOUR_ID: scope.movie_ids[columns].astype(np.int32),
                    SIMILARITY: similarity[rows, columns],
                    NEIGHBOUR_RANK: rank[near].astype(np.int32),
                }
            )
        )
    return frames


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
            "the neighbours and the lists must come from the same fit scope's ratings"
        )
    return found
