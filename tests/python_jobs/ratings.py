"""Small rating frames and independent numpy checks shared by the library's tests."""

from __future__ import annotations

import numpy as np

from python_jobs.columns import MOVIE_ID, RATING, USER_ID

SCHEMA = f"{USER_ID} int, {MOVIE_ID} int, {RATING} double"


def dense_ratings(n_users: int = 40, n_movies: int = 50, seed: int = 7) -> list[tuple]:
    """Every user rates every movie, half stars drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    return [
        (u, m, float(rng.integers(1, 11)) / 2)
        for u in range(1, n_users + 1)
        for m in range(1, n_movies + 1)
    ]


def sparse_ratings(n_users: int = 60, n_movies: int = 40, seed: int = 11) -> list[tuple]:
    """Users rate a skewed, random subset of movies (popular movies more often)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_movies + 1)
    popularity /= popularity.sum()
    rows = []
    for u in range(1, n_users + 1):
        count = int(rng.integers(3, n_movies // 2))
        movies = rng.choice(np.arange(1, n_movies + 1), size=count, replace=False, p=popularity)
        rows += [(u, int(m), float(rng.integers(1, 11)) / 2) for m in sorted(movies)]
    return rows


def key_set(frame) -> set[tuple[int, int]]:
    return {(r[USER_ID], r[MOVIE_ID]) for r in frame.select(USER_ID, MOVIE_ID).collect()}


def numpy_predictions(model, frame) -> np.ndarray:
    """(rating, user factors · item factors) for the rows whose user and movie the model knows."""
    users = {r["id"]: np.array(r["features"]) for r in model.userFactors.collect()}
    items = {r["id"]: np.array(r["features"]) for r in model.itemFactors.collect()}
    return np.array(
        [
            (r[RATING], float(users[r[USER_ID]] @ items[r[MOVIE_ID]]))
            for r in frame.collect()
            if r[USER_ID] in users and r[MOVIE_ID] in items
        ]
    )


def rmse(pairs: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pairs[:, 0] - pairs[:, 1]) ** 2)))
