"""python_jobs.similar_items (EASE's item weights as similar movies) against the textbook
formula with numpy's general inverse, on both of EASE's paths (more users than movies, and
fewer)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from python_jobs.similar_items import ease_neighbours


def _ratings(users: int, movies: int, density: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rated = rng.random((users, movies)) < density
    user, movie = np.nonzero(rated)
    # ids that are neither 0-based nor contiguous, as MovieLens ids are not
    return pd.DataFrame({"user_id": user * 3 + 1, "movie_id": movie * 7 + 5})


def _expected(ratings: pd.DataFrame, lam: float, min_raters: int, floor: int, depth: int):
    counts = ratings.groupby("movie_id").size()
    kept = np.sort(counts.index[counts >= min_raters].to_numpy())
    rated = ratings[ratings["movie_id"].isin(kept)]
    users, rows = np.unique(rated["user_id"].to_numpy(), return_inverse=True)
    x = np.zeros((len(users), len(kept)))
    x[rows, np.searchsorted(kept, rated["movie_id"].to_numpy())] = 1.0
    gram = x.T @ x
    p = np.linalg.inv(gram + lam * np.eye(len(kept)))
    b = np.eye(len(kept)) - p / np.diag(p)[None, :]  # B = I - P diag(1/diag(P))
    listed = []
    for i in range(len(kept)):
        for j in range(len(kept)):
            if i != j and gram[i, j] >= floor and b[i, j] > 0:
                listed.append((kept[i], kept[j], b[i, j], int(gram[i, j])))
    frame = pd.DataFrame(listed, columns=["movie_id", "similar_movie_id", "score", "num_pairs"])
    frame = frame.sort_values(["movie_id", "score", "similar_movie_id"], ascending=[1, 0, 1])
    frame["similarity_rank"] = frame.groupby("movie_id").cumcount() + 1
    return frame[frame["similarity_rank"] <= depth].reset_index(drop=True)


@pytest.mark.parametrize(
    ("users", "movies"), [(120, 40), (25, 60)], ids=["more-users", "fewer-users"]
)
def test_lists_equal_the_textbook_formula(users, movies):
    ratings = _ratings(users, movies, 0.25, seed=users)
    params = {"lam": 3.0, "min_raters": 4, "min_co_raters": 2, "depth": 5}
    got = ease_neighbours(ratings, max_movies=10_000, **params)
    expected = _expected(
        ratings, params["lam"], params["min_raters"], params["min_co_raters"], params["depth"]
    )
    assert len(got) == len(expected) > 0
    key = ["movie_id", "similarity_rank", "similar_movie_id", "num_pairs"]
    np.testing.assert_array_equal(got[key].to_numpy(), expected[key].to_numpy())
    np.testing.assert_allclose(got["score"], expected["score"], rtol=1e-9)
    # A movie's list is its row of B (what rating it adds to others), not its column.
    assert (got["movie_id"] != got["similar_movie_id"]).all()


def test_the_movie_cap_keeps_the_most_rated():
    ratings = _ratings(80, 30, 0.3, seed=3)
    got = ease_neighbours(ratings, lam=2.0, min_raters=1, min_co_raters=1, max_movies=10, depth=3)
    counts = ratings.groupby("movie_id").size()
    top = counts.reset_index(name="n").sort_values(["n", "movie_id"], ascending=[0, 1])
    allowed = set(top["movie_id"].head(10))
    assert set(got["movie_id"]) | set(got["similar_movie_id"]) <= allowed


def test_no_eligible_movie_gives_an_empty_frame():
    ratings = _ratings(5, 5, 0.3, seed=1)
    got = ease_neighbours(ratings, lam=1.0, min_raters=100, min_co_raters=1, max_movies=10, depth=3)
    assert got.empty
    assert list(got.columns) == [
        "movie_id",
        "similar_movie_id",
        "score",
        "num_pairs",
        "similarity_rank",
    ]
