"""python_jobs.similar_items (the similar-movie methods from the rating matrix) against the
textbook formulas: EASE with numpy's general inverse, on both of EASE's paths (more users
than movies, and fewer); adjusted cosine pair by pair with Python loops."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from python_jobs.similar_items import matrix_neighbours

COLUMNS = ["movie_id", "similar_movie_id", "score", "num_pairs", "similarity_rank"]


def _ratings(users: int, movies: int, density: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rated = rng.random((users, movies)) < density
    user, movie = np.nonzero(rated)
    # ids that are neither 0-based nor contiguous, as MovieLens ids are not; half stars
    return pd.DataFrame(
        {
            "user_id": user * 3 + 1,
            "movie_id": movie * 7 + 5,
            "rating": rng.integers(1, 11, len(user)) / 2.0,
        }
    )


def _ranked(scored: dict, depth: int) -> pd.DataFrame:
    """(movie, similar) -> (score, co-raters) as lists: score desc (to 12 decimals),
    co-raters desc, id."""
    rows = [(i, j, s, n) for (i, j), (s, n) in scored.items()]
    frame = pd.DataFrame(rows, columns=COLUMNS[:4])
    frame["rounded"] = frame["score"].round(12)  # equal up to rounding: a tie
    frame = frame.sort_values(
        ["movie_id", "rounded", "num_pairs", "similar_movie_id"], ascending=[1, 0, 0, 1]
    )
    frame["similarity_rank"] = frame.groupby("movie_id").cumcount() + 1
    return frame[frame["similarity_rank"] <= depth].reset_index(drop=True)


def _eligible(ratings: pd.DataFrame, min_raters: int) -> np.ndarray:
    counts = ratings.groupby("movie_id").size()
    return np.sort(counts.index[counts >= min_raters].to_numpy())


def _ease(ratings, lam, min_raters, floor, depth) -> pd.DataFrame:
    kept = _eligible(ratings, min_raters)
    rated = ratings[ratings["movie_id"].isin(kept)]
    users, rows = np.unique(rated["user_id"].to_numpy(), return_inverse=True)
    x = np.zeros((len(users), len(kept)))
    x[rows, np.searchsorted(kept, rated["movie_id"].to_numpy())] = 1.0
    gram = x.T @ x
    p = np.linalg.inv(gram + lam * np.eye(len(kept)))
    b = np.eye(len(kept)) - p / np.diag(p)[None, :]  # B = I - P diag(1/diag(P))
    scored = {
        (kept[i], kept[j]): (b[i, j], int(gram[i, j]))
        for i in range(len(kept))
        for j in range(len(kept))
        if i != j and gram[i, j] >= floor and b[i, j] > 0
    }
    return _ranked(scored, depth)


def _adjusted_cosine(ratings, min_raters, floor, depth) -> pd.DataFrame:
    means = ratings.groupby("user_id")["rating"].mean().to_dict()
    kept = set(_eligible(ratings, min_raters))
    by_movie: dict[int, dict[int, float]] = {}
    for user, movie, rating in ratings[["user_id", "movie_id", "rating"]].itertuples(index=False):
        if movie in kept:
            by_movie.setdefault(movie, {})[user] = rating - means[user]
    scored = {}
    for i, left in by_movie.items():
        for j, right in by_movie.items():
            common = left.keys() & right.keys()
            if i == j or len(common) < floor:
                continue
            cross = sum(left[u] * right[u] for u in common)
            norm_i = math.sqrt(sum(left[u] ** 2 for u in common))
            norm_j = math.sqrt(sum(right[u] ** 2 for u in common))
            if norm_i > 0 and norm_j > 0 and cross / (norm_i * norm_j) > 0:
                scored[(i, j)] = (cross / (norm_i * norm_j), len(common))
    return _ranked(scored, depth)


@pytest.mark.parametrize(
    ("users", "movies"), [(120, 40), (25, 60)], ids=["more-users", "fewer-users"]
)
def test_lists_equal_the_textbook_formulas(users, movies):
    ratings = _ratings(users, movies, 0.25, seed=users)
    lam, min_raters, floor, depth = 3.0, 4, 2, 5
    got = matrix_neighbours(
        ratings, lam=lam, min_raters=min_raters, min_co_raters=floor, max_movies=10_000, depth=depth
    )
    expected = {
        "ease": _ease(ratings, lam, min_raters, floor, depth),
        "adjusted_cosine": _adjusted_cosine(ratings, min_raters, floor, depth),
    }
    assert set(got["method"]) == set(expected)
    key = ["movie_id", "similarity_rank", "similar_movie_id", "num_pairs"]
    for method, want in expected.items():
        have = got[got["method"] == method].reset_index(drop=True)
        assert len(have) == len(want) > 0, method
        np.testing.assert_array_equal(have[key].to_numpy(), want[key].to_numpy())
        np.testing.assert_allclose(have["score"], want["score"], rtol=1e-9)


def test_the_movie_cap_keeps_the_most_rated():
    ratings = _ratings(80, 30, 0.3, seed=3)
    got = matrix_neighbours(ratings, lam=2.0, min_raters=1, min_co_raters=1, max_movies=10, depth=3)
    counts = ratings.groupby("movie_id").size()
    top = counts.reset_index(name="n").sort_values(["n", "movie_id"], ascending=[0, 1])
    allowed = set(top["movie_id"].head(10))
    assert set(got["movie_id"]) | set(got["similar_movie_id"]) <= allowed


def test_no_eligible_movie_gives_an_empty_frame():
    ratings = _ratings(5, 5, 0.3, seed=1)
    got = matrix_neighbours(
        ratings, lam=1.0, min_raters=100, min_co_raters=1, max_movies=10, depth=3
    )
    assert got.empty
    assert list(got.columns) == ["method", *COLUMNS]
