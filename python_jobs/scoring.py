"""Top-N lists scored on the driver with numpy, a block of users at a time.

For item-item models (EASE) and factor models (ALS) whose parameters fit in driver memory,
scoring ``users x movies`` as dense numpy blocks is far cheaper than a Spark cross join of
the same pairs, and the lists it returns are small. Memory: one block of
``block_users x movies`` float64 scores (2,048 users x 10,000 movies = 160 MB).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse

from python_jobs.columns import MOVIE_ID, RANK, SCORE, USER_ID

SCORE_BLOCK_USERS = 2048


def top_columns(values: np.ndarray, depth: int) -> np.ndarray:
    """Each row's ``depth`` columns of highest value, best first, ties by lower column:
    ``np.argsort(-values, axis=1, kind="stable")[:, :depth]`` without sorting whole rows.

    A partition finds each row's ``depth``-th value; only the columns at or above it (ties
    there may add a few) are sorted, so a block costs about one pass over its values
    instead of a sort of every row. NaN ranks last (among the -inf, unlike the sort, where
    it follows them).
    """
    n_rows, n_cols = values.shape
    if depth <= 0 or n_rows == 0:
        return np.zeros((n_rows, 0), dtype=np.int64)
    if depth >= n_cols:
        return np.argsort(-values, axis=1, kind="stable")[:, :depth]
    values = np.where(np.isnan(values), -np.inf, values)
    threshold = -np.partition(-values, depth - 1, axis=1)[:, depth - 1]
    rows, cols = np.nonzero(values >= threshold[:, None])
    order = np.lexsort((cols, -values[rows, cols], rows))
    rows, cols = rows[order], cols[order]
    position = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    return cols[position < depth].reshape(n_rows, depth)


@dataclass(frozen=True)
class Interactions:
    """The binary user x movie matrix of one set of ratings.

    Attributes
    ----------
    user_ids, movie_ids
        Row and column ids, ascending. Columns are the ``max_movies`` most-rated movies
        (ties by lower id); ``movie_counts`` are their rating counts.
    matrix
        CSR, 1.0 where the user rated the movie.
    """

    user_ids: np.ndarray
    movie_ids: np.ndarray
    movie_counts: np.ndarray
    matrix: scipy.sparse.csr_matrix

    @classmethod
    def from_pairs(cls, pairs: pd.DataFrame, *, max_movies: int | None) -> Interactions:
        """Build from a frame of (``user_id``, ``movie_id``) rows, one per rating;
        ``max_movies`` None keeps every movie."""
        counts = pairs.groupby(MOVIE_ID).size()
        order = np.lexsort((counts.index.to_numpy(), -counts.to_numpy()))[:max_movies]
        kept = np.sort(counts.index.to_numpy()[order])
        user_ids = np.unique(pairs[USER_ID].to_numpy())
        inside = pairs[pairs[MOVIE_ID].isin(kept)]
        rows = np.searchsorted(user_ids, inside[USER_ID].to_numpy())
        cols = np.searchsorted(kept, inside[MOVIE_ID].to_numpy())
        matrix = scipy.sparse.csr_matrix(
            (np.ones(len(inside)), (rows, cols)), shape=(len(user_ids), len(kept))
        )
        return cls(user_ids, kept, counts.loc[kept].to_numpy(), matrix)


def blocked_top_n(
    *,
    interactions: Interactions,
    scores: Callable[[np.ndarray, scipy.sparse.csr_matrix], np.ndarray],
    user_ids: np.ndarray,
    top_n: int,
    block_users: int = SCORE_BLOCK_USERS,
    tie_order: np.ndarray | None = None,
) -> pd.DataFrame:
    """Each of ``user_ids`` gets its ``top_n`` movies of ``interactions`` not rated there.

    Parameters
    ----------
    interactions
        The fit: its movies are the candidates, its ratings are excluded.
    scores
        Maps a block of users, given as their row indices in ``interactions`` and their
        rows of ``interactions.matrix`` (CSR), to dense ``(users, movies)`` scores. A user
        absent from ``interactions`` has the row index ``len(interactions.user_ids)`` and
        an empty row.
    user_ids
        The users to list, in any order.
    top_n, block_users
        List length; users scored at once.
    tie_order
        The columns in the order in which equal scores are listed. By default the
        more-rated movie comes first, then the lower id, so a user with no rating, who may
        score 0 everywhere, gets the most-rated movies.

    Returns
    -------
    pandas.DataFrame
        ``user_id``, RANK (1..top_n), ``movie_id``, ``score``; a user who rated nearly
        every movie gets a shorter list.
    """
    user_ids = np.asarray(user_ids)
    n_users = len(interactions.user_ids)
    position = np.searchsorted(interactions.user_ids, user_ids)
    clipped = np.minimum(position, max(n_users - 1, 0))
    known = (interactions.user_ids[clipped] == user_ids) if n_users else position < 0
    empty = scipy.sparse.csr_matrix((1, len(interactions.movie_ids)))
    padded = scipy.sparse.vstack([interactions.matrix, empty], format="csr")
    rows_of = np.where(known, clipped, n_users)  # unknown users read the empty last row
    depth = min(top_n, len(interactions.movie_ids))
    if tie_order is None:
        tie_order = np.lexsort((interactions.movie_ids, -interactions.movie_counts))
    column_order = np.array_equal(tie_order, np.arange(len(tie_order)))
    frames = []
    for start in range(0, len(user_ids), block_users):
        block = slice(start, start + block_users)
        history = padded[rows_of[block]]
        block_scores = np.asarray(scores(rows_of[block], history), dtype=np.float64)
        block_scores[history.toarray() > 0] = -np.inf
        # Columns in tie order first; ties then go to the lower column, in that order (no
        # copy of the block when that order is the columns' own).
        if column_order:
            columns = top_columns(block_scores, depth)
        else:
            columns = tie_order[top_columns(block_scores[:, tie_order], depth)]
        chosen = np.take_along_axis(block_scores, columns, axis=1)
        keep = np.isfinite(chosen)
        frames.append(
            pd.DataFrame(
                {
                    USER_ID: np.repeat(user_ids[block], depth)[keep.ravel()],
                    RANK: np.tile(np.arange(1, depth + 1), len(chosen))[keep.ravel()],
                    MOVIE_ID: interactions.movie_ids[columns][keep],
                    SCORE: chosen[keep],
                }
            )
        )
    if not frames:
        return pd.DataFrame({USER_ID: [], RANK: [], MOVIE_ID: [], SCORE: []})
    return pd.concat(frames, ignore_index=True)
