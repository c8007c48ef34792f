"""python_jobs.ease against EASE written directly from the paper with numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse

from python_jobs import ease
from python_jobs.columns import MOVIE_ID, RANK, SCORE, USER_ID
from tests.python_jobs.ratings import sparse_ratings


def _pairs(rows) -> pd.DataFrame:
    return pd.DataFrame([(u, m) for u, m, _ in rows], columns=[USER_ID, MOVIE_ID])


def test_weights_equal_the_closed_form_with_a_general_inverse():
    rng = np.random.default_rng(0)
    x = (rng.random((80, 30)) < 0.2).astype(float)
    gram = x.T @ x
    lam = 7.5
    p = np.linalg.inv(gram + lam * np.eye(30))
    expected = np.eye(30) - p @ np.diag(1.0 / np.diag(p))
    got = ease.ease_weights(gram, lam)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert np.all(np.diag(got) == 0)
    with pytest.raises(ValueError, match="lambda"):
        ease.ease_weights(gram, 0.0)


def _closed_form(x: np.ndarray, lam: float) -> np.ndarray:
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    return np.eye(x.shape[1]) - p @ np.diag(1.0 / np.diag(p))


@pytest.mark.parametrize(("users", "movies"), [(20, 50), (80, 30), (40, 40)])
def test_fit_weights_equal_the_closed_form_in_either_form(users, movies, monkeypatch):
    rng = np.random.default_rng(users)
    x = (rng.random((users, movies)) < 0.3).astype(float)
    x[0] = 0.0  # a user with no rating
    expected = _closed_form(x, 12.0)
    dual = ease.dual_ease_weights(scipy.sparse.csr_matrix(x), 12.0)
    np.testing.assert_allclose(dual, expected, atol=1e-12)
    assert np.all(np.diag(dual) == 0)
    # fit_weights takes the dual form exactly when there are fewer users than movies.
    primal = ease.ease_weights
    forms = []
    monkeypatch.setattr(ease, "ease_weights", lambda *a: forms.append("primal") or primal(*a))
    got = ease.fit_weights(scipy.sparse.csr_matrix(x), 12.0)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert forms == ([] if users < movies else ["primal"])
    with pytest.raises(ValueError, match="lambda"):
        ease.dual_ease_weights(scipy.sparse.csr_matrix(x), -1.0)


def test_interactions_keep_the_most_rated_movies():
    rows = sparse_ratings()
    pairs = _pairs(rows)
    interactions = ease.Interactions.from_pairs(pairs, max_movies=10)
    counts = pairs.groupby(MOVIE_ID).size()
    expected = sorted(sorted(counts.index, key=lambda m: (-counts[m], m))[:10])
    assert interactions.movie_ids.tolist() == expected
    assert interactions.movie_counts.tolist() == counts.loc[expected].tolist()
    dense = interactions.matrix.toarray()
    for u, m in zip(pairs[USER_ID], pairs[MOVIE_ID], strict=True):
        if m in expected:
            assert dense[interactions.user_ids.tolist().index(u), expected.index(m)] == 1.0
    assert dense.sum() == pairs[MOVIE_ID].isin(expected).sum()


def test_top_n_are_the_best_unrated_scores_ties_to_popular_movies():
    rows = sparse_ratings()
    pairs = _pairs(rows)
    interactions = ease.Interactions.from_pairs(pairs, max_movies=25)
    weights = ease.fit_weights(interactions.matrix, 20.0)
    users = np.array([1, 2, 3, 999])  # 999 never rated anything
    got = ease.top_n(
        interactions=interactions, weights=weights, user_ids=users, top_n=5, block_users=2
    )
    x = interactions.matrix.toarray()
    scores = x @ weights
    movie_ids = interactions.movie_ids
    counts = interactions.movie_counts
    for user in users:
        mine = got[got[USER_ID] == user].sort_values(RANK)
        assert mine[RANK].tolist() == [1, 2, 3, 4, 5]
        if user == 999:
            row, rated = np.zeros(len(movie_ids)), np.zeros(len(movie_ids), bool)
        else:
            index = interactions.user_ids.tolist().index(user)
            row, rated = scores[index], x[index] > 0
        candidates = sorted(
            (-row[j], -counts[j], movie_ids[j]) for j in range(len(movie_ids)) if not rated[j]
        )[:5]
        assert mine[MOVIE_ID].tolist() == [c[2] for c in candidates]
        np.testing.assert_allclose(mine[SCORE], [-c[0] for c in candidates], atol=1e-12)
