"""Tests for python_jobs.als on tiny hand-made frames."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.sql import functions as sf

from python_jobs.als import (
    GRID_COLUMNS,
    RECOMMENDATION_SOURCE,
    evaluate,
    fit_als,
    grid_search,
    recommend_top_n,
    split_ratings,
)
from python_jobs.columns import MOVIE_ID, PREDICTION, RANK, RATING, TITLE, USER_ID
from python_jobs.spark import build_spark_session

SCHEMA = f"{USER_ID} int, {MOVIE_ID} int, {RATING} double"


@pytest.fixture(scope="session")
def spark():
    return build_spark_session(master="local[2]", shuffle_partitions=4)


def _dense_ratings(n_users: int = 40, n_movies: int = 50):
    rng = np.random.default_rng(7)
    rows = []
    for u in range(1, n_users + 1):
        for m in range(1, n_movies + 1):
            rows.append((u, m, float(rng.integers(1, 11)) / 2))
    return rows


def _key_set(frame):
    return {(r[USER_ID], r[MOVIE_ID]) for r in frame.select(USER_ID, MOVIE_ID).collect()}


def test_split_is_deterministic_disjoint_and_proportional(spark):
    rows = _dense_ratings()  # 2000 ratings
    ratings = spark.createDataFrame(rows, SCHEMA).withColumn("extra", sf.lit("x"))
    first = [_key_set(part) for part in split_ratings(ratings)]
    second = [_key_set(part) for part in split_ratings(ratings)]
    assert first == second
    assert set().union(*first) == {(r[0], r[1]) for r in rows}
    assert sum(len(part) for part in first) == len(rows)
    for part, weight in zip(first, (0.6, 0.2, 0.2), strict=True):
        sd = math.sqrt(len(rows) * weight * (1 - weight))
        assert abs(len(part) - weight * len(rows)) < 4 * sd
    assert split_ratings(ratings)[0].columns == [USER_ID, MOVIE_ID, RATING]


def test_split_ignores_input_partitioning_and_order(spark):
    rows = _dense_ratings()
    one = spark.createDataFrame(rows, SCHEMA).coalesce(1)
    shuffled = spark.createDataFrame(list(reversed(rows)), SCHEMA).repartition(7)
    assert [_key_set(p) for p in split_ratings(one, seed=3)] == [
        _key_set(p) for p in split_ratings(shuffled, seed=3)
    ]
    # and the seed matters
    assert _key_set(split_ratings(one, seed=3)[0]) != _key_set(split_ratings(one, seed=4)[0])


def test_split_checks_inputs(spark):
    ratings = spark.createDataFrame(_dense_ratings(2, 2), SCHEMA)
    with pytest.raises(ValueError, match="lacks column"):
        split_ratings(ratings.drop(RATING))
    with pytest.raises(ValueError, match="weights"):
        split_ratings(ratings, weights=(1.0,))
    with pytest.raises(ValueError, match="weights"):
        split_ratings(ratings, weights=(0.5, -0.5))


def _numpy_predictions(model, frame):
    users = {r["id"]: np.array(r["features"]) for r in model.userFactors.collect()}
    items = {r["id"]: np.array(r["features"]) for r in model.itemFactors.collect()}
    out = []
    for r in frame.collect():
        if r[USER_ID] in users and r[MOVIE_ID] in items:
            out.append((r[RATING], float(users[r[USER_ID]] @ items[r[MOVIE_ID]])))
    return np.array(out)


def _rmse(pairs):
    return float(np.sqrt(np.mean((pairs[:, 0] - pairs[:, 1]) ** 2)))


def test_fit_als_drops_cold_rows_and_checks_inputs(spark):
    train = spark.createDataFrame(_dense_ratings(10, 8), SCHEMA)
    model = fit_als(train=train, rank=3, reg_param=0.1, max_iter=3, num_blocks=2)
    assert model.rank == 3
    cold = spark.createDataFrame([(999, 1, 3.0), (1, 999, 3.0), (1, 1, 3.0)], SCHEMA)
    assert _key_set(model.transform(cold)) == {(1, 1)}
    with pytest.raises(ValueError, match="rank"):
        fit_als(train=train, rank=0, reg_param=0.1)
    with pytest.raises(ValueError, match="reg_param"):
        fit_als(train=train, rank=2, reg_param=-1.0)
    with pytest.raises(ValueError, match="checkpoint_interval"):
        fit_als(train=train, rank=2, reg_param=0.1, checkpoint_interval=0)


@pytest.mark.parametrize("parallelism", [1, 3])
def test_grid_search_rows_best_and_rmse(spark, parallelism):
    train, validation, _ = split_ratings(spark.createDataFrame(_dense_ratings(), SCHEMA))
    seen = []
    result = grid_search(
        train=train,
        validation=validation,
        ranks=[1, 3],
        reg_params=[0.05, 5.0],
        max_iter=3,
        parallelism=parallelism,
        progress=seen.append,
    )
    table = result.table.collect()
    assert result.table.columns == list(GRID_COLUMNS)
    assert sorted((r["rank"], r["reg_param"]) for r in table) == [
        (1, 0.05),
        (1, 5.0),
        (3, 0.05),
        (3, 5.0),
    ]
    assert len(seen) == 4
    best = [r for r in table if r["is_best"]]
    assert len(best) == 1
    assert best[0]["validation_rmse"] == min(r["validation_rmse"] for r in table)
    assert (result.best_rank, result.best_reg_param) == (best[0]["rank"], best[0]["reg_param"])
    assert all(r["fit_seconds"] > 0 and r["max_iter"] == 3 for r in table)
    # RMSEs agree with the best model's factors scored independently in numpy.
    assert result.best_validation_rmse == pytest.approx(
        _rmse(_numpy_predictions(result.best_model, validation)), rel=1e-5
    )
    assert result.best_train_rmse == pytest.approx(
        _rmse(_numpy_predictions(result.best_model, train)), rel=1e-5
    )


def test_grid_search_checks_inputs(spark):
    frame = spark.createDataFrame(_dense_ratings(2, 2), SCHEMA)
    with pytest.raises(ValueError, match="non-empty"):
        grid_search(train=frame, validation=frame, ranks=[], reg_params=[0.1])
    with pytest.raises(ValueError, match="parallelism"):
        grid_search(train=frame, validation=frame, ranks=[2], reg_params=[0.1], parallelism=0)
    with pytest.raises(ValueError, match="lacks column"):
        grid_search(train=frame.drop(MOVIE_ID), validation=frame, ranks=[2], reg_params=[0.1])


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


def test_evaluate_popularity_by_hand_and_als_errors_by_numpy(spark):
    rows = [(1, 10, 4.0), (2, 10, 3.0), (3, 10, 5.0), (1, 11, 2.0), (2, 11, 4.0)]
    rows += [(3, 12, 3.0), (4, 13, 4.0), (4, 10, 2.0), (4, 11, 3.0)]
    train = spark.createDataFrame(rows, SCHEMA)
    validation = spark.createDataFrame([(1, 12, 3.0)], SCHEMA)
    test = spark.createDataFrame([(1, 13, 5.0), (2, 12, 1.0), (3, 13, 4.0)], SCHEMA)
    model = fit_als(train=train, rank=2, reg_param=0.1, max_iter=5, num_blocks=1)
    table = {
        r["recommender"]: r
        for r in evaluate(
            model=model, train=train, validation=validation, test=test, top_n=2
        ).collect()
    }
    assert set(table) == {"als", "popularity"}
    pop = table["popularity"]
    # Popularity order in train: 10 (4), 11 (3), 12 (1), 13 (1).
    # u1 excludes 10,11,12 -> [13], hit@1; u2 -> [12, 13], hit@1; u3 -> [11, 13], hit@2.
    assert pop["rmse"] is None and pop["mae"] is None
    assert pop["precision_at_k"] == pytest.approx(0.5)
    assert pop["recall_at_k"] == pytest.approx(1.0)
    assert pop["ndcg_at_k"] == pytest.approx((1 + 1 + 1 / math.log2(3)) / 3)
    assert pop["map_at_k"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert pop["catalog_coverage"] == pytest.approx(3 / 4)
    assert (pop["k"], pop["n_users_evaluated"]) == (2, 3)

    als = table["als"]
    pairs = _numpy_predictions(model, test)
    assert als["rmse"] == pytest.approx(_rmse(pairs), rel=1e-5)
    assert als["mae"] == pytest.approx(float(np.mean(np.abs(pairs[:, 0] - pairs[:, 1]))), rel=1e-5)
    assert als["n_users_evaluated"] == 3
