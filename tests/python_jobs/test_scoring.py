"""python_jobs.scoring: blocked top-N on the driver against a brute-force sort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from python_jobs.columns import MOVIE_ID, RANK, SCORE, USER_ID
from python_jobs.scoring import Interactions, blocked_top_n, top_columns
from tests.python_jobs.ratings import sparse_ratings


@pytest.mark.parametrize("block_users", [1, 7, 4096])
def test_factor_scores_top_n_equal_a_brute_force_sort(block_users):
    rows = sparse_ratings()
    pairs = pd.DataFrame([(u, m) for u, m, _ in rows], columns=[USER_ID, MOVIE_ID])
    interactions = Interactions.from_pairs(pairs, max_movies=None)
    rng = np.random.default_rng(1)
    users = rng.normal(size=(len(interactions.user_ids) + 1, 4))
    users[-1] = 0.0  # the row every unknown user reads
    items = rng.normal(size=(len(interactions.movie_ids), 4))
    wanted = np.array([5, 3, 1, 777])
    got = blocked_top_n(
        interactions=interactions,
        scores=lambda rows, history: users[rows] @ items.T,
        user_ids=wanted,
        top_n=4,
        block_users=block_users,
    )
    rated = pairs.groupby(USER_ID)[MOVIE_ID].apply(set)
    counts = pairs.groupby(MOVIE_ID).size()
    for user in wanted:
        known = user in rated.index
        index = interactions.user_ids.tolist().index(user) if known else -1
        expected = sorted(
            (-(users[index] @ items[j]), -counts[movie], movie)
            for j, movie in enumerate(interactions.movie_ids)
            if not known or movie not in rated[user]
        )[:4]
        mine = got[got[USER_ID] == user].sort_values(RANK)
        assert mine[MOVIE_ID].tolist() == [e[2] for e in expected]
        np.testing.assert_allclose(mine[SCORE], [-e[0] for e in expected], atol=1e-12)
    # The unknown user scores 0 everywhere: the most-rated movies, ties by lower id.
    most_rated = sorted(counts.index, key=lambda m: (-counts[m], m))[:4]
    assert got[got[USER_ID] == 777].sort_values(RANK)[MOVIE_ID].tolist() == most_rated


@pytest.mark.parametrize("depth", [1, 3, 10, 12, 20])
def test_top_columns_equal_a_stable_sort_with_ties_and_excluded_cells(depth):
    rng = np.random.default_rng(depth)
    # few distinct values: many ties, also across the depth-th place
    values = rng.integers(0, 4, size=(50, 12)).astype(np.float64)
    values[rng.random(values.shape) < 0.3] = -np.inf  # excluded (rated) movies
    values[7] = -np.inf  # a user with no candidate
    values[8, :11] = -np.inf  # a user with one
    expected = np.argsort(-values, axis=1, kind="stable")[:, :depth]
    got = top_columns(values, depth)
    np.testing.assert_array_equal(got, expected)


def test_top_columns_rank_nan_last():
    values = np.array([[np.nan, 1.0, 3.0, np.nan, 2.0]])
    np.testing.assert_array_equal(top_columns(values, 3), [[2, 4, 1]])
