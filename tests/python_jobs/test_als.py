"""python_jobs.als on tiny hand-made frames: fits, factor scoring, top-N lists."""

from __future__ import annotations

import math

import numpy as np
import pytest

from python_jobs.als import RECOMMENDATION_SOURCE, fit_als, recommend_top_n
from python_jobs.columns import MOVIE_ID, PREDICTION, RANK, TITLE, USER_ID
from tests.python_jobs.ratings import SCHEMA, dense_ratings, key_set, sparse_ratings


def test_fit_als_drops_cold_rows_and_checks_inputs(spark):
    train = spark.createDataFrame(dense_ratings(10, 8), SCHEMA)
    model = fit_als(train=train, rank=3, reg_param=0.1, max_iter=3, num_blocks=2)
    assert model.rank == 3
    cold = spark.createDataFrame([(999, 1, 3.0), (1, 999, 3.0), (1, 1, 3.0)], SCHEMA)
    assert key_set(model.transform(cold)) == {(1, 1)}
    with pytest.raises(ValueError, match="rank"):
        fit_als(train=train, rank=0, reg_param=0.1)
    with pytest.raises(ValueError, match="reg_param"):
        fit_als(train=train, rank=2, reg_param=-1.0)
    with pytest.raises(ValueError, match="checkpoint_interval"):
        fit_als(train=train, rank=2, reg_param=0.1, checkpoint_interval=0)


def _small_world(spark):
    """Users 1-6 rate movies 1-8 in train; movie 9 is rated only outside train;
    user 7 has ratings only outside train (cold)."""
    rng = np.random.default_rng(3)
    train_rows = [
        (u, m, float(rng.integers(2, 11)) / 2)
        for u in range(1, 7)
        for m in range(1, 9)
        if (u + m) % 3 != 0
    ]
    other_rows = [(1, 9, 4.0), (2, 9, 5.0), (7, 1, 4.0), (7, 9, 3.0)]
    train = spark.createDataFrame(train_rows, SCHEMA)
    ratings = spark.createDataFrame(train_rows + other_rows, SCHEMA)
    movies = spark.createDataFrame(
        [(m, f"Movie {m}") for m in range(1, 10)], f"{MOVIE_ID} int, {TITLE} string"
    )
    return train, ratings, movies, train_rows, other_rows


def test_recommend_top_n_excludes_rated_ranks_and_falls_back(spark):
    train, ratings, movies, train_rows, other_rows = _small_world(spark)
    model = fit_als(train=train, rank=2, reg_param=0.1, max_iter=5, num_blocks=1)
    recs = recommend_top_n(model=model, ratings=ratings, movies=movies, top_n=2).collect()
    rated = {(u, m) for u, m, _ in train_rows + other_rows}
    by_user: dict[int, list] = {}
    for r in recs:
        assert (r[USER_ID], r[MOVIE_ID]) not in rated
        assert r[PREDICTION] is not None and not math.isnan(r[PREDICTION])
        assert r[TITLE] == f"Movie {r[MOVIE_ID]}"
        by_user.setdefault(r[USER_ID], []).append(r)
    assert set(by_user) == set(range(1, 8))

    users = {r["id"]: np.array(r["features"]) for r in model.userFactors.collect()}
    items = {r["id"]: np.array(r["features"]) for r in model.itemFactors.collect()}
    assert 9 not in items
    for user in range(1, 7):
        got = sorted(by_user[user], key=lambda r: r[RANK])
        assert [r[RANK] for r in got] == list(range(1, len(got) + 1))
        assert {r[RECOMMENDATION_SOURCE] for r in got} == {"als"}
        candidates = sorted(
            (-float(users[user] @ items[m]), m) for m in items if (user, m) not in rated
        )
        assert [r[MOVIE_ID] for r in got] == [m for _, m in candidates[:2]]
        assert got[0][PREDICTION] == pytest.approx(-candidates[0][0], rel=1e-5)

    # User 7 is cold: the most-rated movies of `ratings` it has not rated, by count then id.
    counts: dict[int, int] = {}
    for _, m, _ in train_rows + other_rows:
        counts[m] = counts.get(m, 0) + 1
    expected = [m for m in sorted(counts, key=lambda m: (-counts[m], m)) if m not in (1, 9)][:2]
    cold = sorted(by_user[7], key=lambda r: r[RANK])
    assert [r[MOVIE_ID] for r in cold] == expected
    assert [r[RANK] for r in cold] == [1, 2]
    assert {r[RECOMMENDATION_SOURCE] for r in cold} == {"popularity"}
    mean_first = np.mean([x for _, m, x in train_rows + other_rows if m == expected[0]])
    assert cold[0][PREDICTION] == pytest.approx(mean_first)


def test_recommend_top_n_checks_inputs(spark):
    train, ratings, movies, _, _ = _small_world(spark)
    model = fit_als(train=train, rank=2, reg_param=0.1, max_iter=2, num_blocks=1)
    with pytest.raises(ValueError, match="top_n"):
        recommend_top_n(model=model, ratings=ratings, movies=movies, top_n=0)
    with pytest.raises(ValueError, match="lacks column"):
        recommend_top_n(model=model, ratings=ratings, movies=movies.drop(TITLE))


def test_implicit_fit_ranks_a_users_rated_movies_first(spark):
    """With implicit feedback the model learns who rated what, not how: a user's rated
    movies score above the movies they did not rate, far more often than chance."""
    rows = sparse_ratings(n_users=60, n_movies=40)
    model = fit_als(
        train=spark.createDataFrame(rows, SCHEMA),
        rank=8,
        reg_param=0.05,
        alpha=20.0,
        max_iter=10,
        implicit=True,
    )
    users = {r["id"]: np.array(r["features"]) for r in model.userFactors.collect()}
    items = {r["id"]: np.array(r["features"]) for r in model.itemFactors.collect()}
    rated = {(u, m) for u, m, _ in rows}
    wins = total = 0
    for user, vector in users.items():
        scores = {m: float(vector @ f) for m, f in items.items()}
        inside = [s for m, s in scores.items() if (user, m) in rated]
        outside = [s for m, s in scores.items() if (user, m) not in rated]
        wins += sum(a > b for a in inside for b in outside)
        total += len(inside) * len(outside)
    assert wins / total > 0.8
    with pytest.raises(ValueError, match="alpha"):
        fit_als(train=spark.createDataFrame(rows, SCHEMA), rank=2, reg_param=0.1, alpha=-1.0)
