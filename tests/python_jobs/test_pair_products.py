"""The blocked sparse-product engine of the pair aggregates against a brute-force self-join.

The expected figures are a pandas merge of the ratings with themselves on the user, the
definition the SQL self-join (``macros/movie_pairs.sql``) implements.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from python_jobs import pair_products
from tests.python_jobs.ratings import SCHEMA, sparse_ratings

KEY = ["movie1_id", "movie2_id"]
SCHEMA_COLUMNS = ["user_id", "movie_id", "rating"]


def self_join_pair_scores(ratings: pd.DataFrame, min_raters: int, min_pairs: int) -> pd.DataFrame:
    counts = ratings.groupby("movie_id")["user_id"].transform("size")
    eligible = ratings[counts >= min_raters]
    pairs = eligible.merge(eligible, on="user_id", suffixes=("1", "2"))
    pairs = pairs[pairs["movie_id1"] < pairs["movie_id2"]]
    pairs = pairs.assign(
        xy=pairs["rating1"] * pairs["rating2"],
        xx=pairs["rating1"] ** 2,
        yy=pairs["rating2"] ** 2,
    )
    grouped = (
        pairs.groupby(["movie_id1", "movie_id2"])
        .agg(
            num_pairs=("xy", "size"),
            sum_xy=("xy", "sum"),
            sum_xx=("xx", "sum"),
            sum_yy=("yy", "sum"),
        )
        .reset_index()
        .rename(columns={"movie_id1": "movie1_id", "movie_id2": "movie2_id"})
    )
    grouped = grouped[grouped["num_pairs"] >= min_pairs]
    # the cosine seed's formula, in Python floats (one correctly rounded step each)
    grouped["score"] = [
        xy / (math.sqrt(xx) * math.sqrt(yy))
        for xy, xx, yy in zip(grouped["sum_xy"], grouped["sum_xx"], grouped["sum_yy"], strict=True)
    ]
    return grouped.sort_values(KEY).reset_index(drop=True)


def assert_same_pairs(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    actual = actual.sort_values(KEY).reset_index(drop=True)
    assert len(actual) == len(expected) > 0
    np.testing.assert_array_equal(actual[KEY].to_numpy(), expected[KEY].to_numpy())
    np.testing.assert_array_equal(actual["num_pairs"], expected["num_pairs"])
    for column in ["sum_xy", "sum_xx", "sum_yy", "score"]:
        # exact: half-star sums are exact in binary floating point, and the score is the
        # same IEEE operations on them
        np.testing.assert_array_equal(actual[column].to_numpy(), expected[column].to_numpy())


def ratings_frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, 121):
        movies = rng.choice(np.arange(1, 61) * 7, size=int(rng.integers(2, 30)), replace=False)
        rows += [(user, int(m), float(rng.integers(1, 11)) / 2) for m in movies]
    return pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])


def write_matrices(ratings: pd.DataFrame, path: Path) -> tuple[np.ndarray, np.ndarray]:
    _, users = np.unique(ratings["user_id"], return_inverse=True)
    movie_ids, movies = np.unique(ratings["movie_id"], return_inverse=True)
    np.savez(
        path,
        users=users.astype(np.int32),
        movies=movies.astype(np.int32),
        half_stars=np.rint(ratings["rating"].to_numpy() * 2).astype(np.int8),
        movie_ids=movie_ids.astype(np.int32),
    )
    return users, movies


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "four-products"])
@pytest.mark.parametrize("blocks", [1, 3, 8])
def test_blocks_together_give_every_pair_once_with_exact_sums(
    tmp_path: Path, monkeypatch, blocks: int, packed: bool
) -> None:
    if not packed:  # as with millions of users: no room to pack a count and a sum
        monkeypatch.setattr(pair_products, "_pack", lambda n_users: 0.0)
    ratings = ratings_frame()
    users, movies = write_matrices(ratings, tmp_path / "ratings.npz")
    bounds = pair_products.block_bounds(users, movies, blocks)
    assert bounds[0] == 0 and bounds[-1] == movies.max() + 1
    assert (np.diff(bounds) > 0).all() and len(bounds) <= blocks + 1
    parts = [
        pair_products.block_pair_scores(
            str(tmp_path / "ratings.npz"), int(lo), int(hi), 2
        ).to_pandas()
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    assert_same_pairs(pd.concat(parts), self_join_pair_scores(ratings, 1, 2))


def test_packing_keeps_a_count_and_its_sum_of_squares_exact() -> None:
    # 120 users: counts up to 120 fit below 128; sums of squared half stars up to 12,000
    assert pair_products._pack(120) == 128.0
    count, squares = 120, 120 * 100  # the largest of both
    packed = np.float64(count) + 128.0 * np.float64(squares)
    assert np.floor(packed / 128.0) == squares and packed - 128.0 * squares == count
    # ten million users: 2**24 * 100 * 10**7 is beyond 2**53, so no packing
    assert 2**24 * 100 * 10**7 > 2**53 and pair_products._pack(10**7) == 0.0


def test_block_bounds_balance_the_pairs_each_block_starts() -> None:
    ratings = ratings_frame(seed=5)
    _, users = np.unique(ratings["user_id"], return_inverse=True)
    _, movies = np.unique(ratings["movie_id"], return_inverse=True)
    bounds = pair_products.block_bounds(users, movies, 4)
    # the pairs (j, later movie) each movie j starts, counted from the self-join
    pairs = self_join_pair_scores(ratings, 1, 1)
    index = {m: i for i, m in enumerate(np.unique(ratings["movie_id"]))}
    started = np.bincount(
        pairs["movie1_id"].map(index), weights=pairs["num_pairs"], minlength=len(index)
    )
    per_block = [started[lo:hi].sum() for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    assert len(per_block) == 4
    assert max(per_block) < 0.5 * started.sum()  # no block holds half the work


@pytest.mark.parametrize(
    "bound", ["all", "eligible", "below"], ids=["blocked", "blocked-at-bound", "declined"]
)
def test_pair_scores_on_spark_equal_the_self_join(
    spark, capsys, caplog, monkeypatch, bound: str
) -> None:
    # Movies 901-903 have one or two raters: below min_raters, they must not form pairs.
    rows = sparse_ratings(n_users=80, n_movies=40) + [
        (1, 901, 4.0), (2, 901, 3.5), (3, 902, 5.0), (1, 903, 1.0), (4, 903, 2.0)
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    eligible = frame.groupby("movie_id")["user_id"].transform("size") >= 3
    assert (~eligible).sum() > 0 and eligible.sum() > 10
    # "all": every rating within the bound; "eligible": only the eligible ones (Spark
    # prunes, then counts); "below": the eligible ratings exceed it.
    max_ratings = {"all": len(frame), "eligible": int(eligible.sum()), "below": 10}[bound]
    # (under dbt the plugin sends the library's records to dbt's log instead of the root's)
    monkeypatch.setattr(logging.getLogger("python_jobs"), "propagate", True)
    caplog.set_level(logging.INFO, logger="python_jobs")
    actual = pair_products.pair_scores(
        spark,
        spark.createDataFrame(rows, SCHEMA),
        min_raters=3,
        min_pairs=2,
        max_ratings=max_ratings,
        blocks=3,
    )
    # (a handler that the dbt plugin added, when an earlier test installed it, may log the
    # record a second time)
    declined = {r.getMessage() for r in caplog.records if r.name == "python_jobs.pair_products"}
    if bound == "below":  # the engine declines, saying why; the model's SQL runs instead
        assert actual is None
        assert declined == {
            f"pair aggregates: {eligible.sum():,} eligible ratings exceed "
            "pair_blocked_max_ratings (10, about 0.0 GB of each Python worker's memory)"
        }
        return
    assert not declined
    assert_same_pairs(actual.toPandas(), self_join_pair_scores(frame, 3, 2))
    assert f"{eligible.sum():,} ratings of" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("file_format", "options", "written_as"),
    [
        ("parquet", {"compression": "snappy"}, ".snappy.parquet"),
        ("orc", {}, ".zstd.orc"),  # Spark's own default codec for ORC
        ("orc", {"compression": "lz4"}, None),  # a codec the workers leave to Spark
        ("json", {}, None),
    ],
    ids=["parquet", "orc-default-codec", "orc-lz4", "json"],
)
def test_a_pair_table_written_by_the_workers_holds_the_self_join(
    spark, tmp_path: Path, capsys, file_format: str, options: dict, written_as: str | None
) -> None:
    """dbt's write of the blocked model (``tables.write_table``): on a local session the
    Python workers write one file a block into the new table's directory; for a format or
    codec they do not write, Spark writes the same rows."""
    from dbt_spark_oss_python.tables import write_table

    rows = sparse_ratings(n_users=80, n_movies=40)
    database = f"pairs_{file_format}_{len(options)}_{written_as is None}"
    spark.sql(f"create database {database} location '{tmp_path}'")
    pairs = pair_products.pair_scores(
        spark,
        spark.createDataFrame(rows, SCHEMA),
        min_raters=3,
        min_pairs=2,
        max_ratings=len(rows),
        blocks=3,
    )
    write_table(spark, pairs, f"{database}.pair_scores", file_format, options=options)
    expected = self_join_pair_scores(pd.DataFrame(rows, columns=SCHEMA_COLUMNS), 3, 2)
    assert_same_pairs(spark.table(f"{database}.pair_scores").toPandas(), expected)
    files = [p.name for p in (tmp_path / "pair_scores").iterdir() if p.name[0] not in "._"]
    printed = capsys.readouterr().out
    if written_as:
        assert len(files) == 3, files
        assert all(name.startswith("part-") and name.endswith(written_as) for name in files)
        assert f"{len(expected):,} rows written as" in printed, printed
    else:
        assert "rows written" not in printed and files, printed


def test_pair_scores_of_movies_all_below_min_raters_are_empty(spark) -> None:
    rows = [(1, 10, 4.0), (2, 10, 3.0), (1, 20, 5.0), (2, 20, 2.5)]
    actual = pair_products.pair_scores(
        spark, spark.createDataFrame(rows, SCHEMA), min_raters=3, max_ratings=100
    )
    assert actual.columns == KEY + ["num_pairs", "sum_xy", "sum_xx", "sum_yy", "score"]
    assert actual.count() == 0
    # the same movies with a third rater each form their pair
    rows += [(3, 10, 1.0), (3, 20, 1.0)]
    again = pair_products.pair_scores(
        spark, spark.createDataFrame(rows, SCHEMA), min_raters=3, max_ratings=100
    ).toPandas()
    expected = pd.DataFrame(rows, columns=["user_id", "movie_id", "rating"])
    assert_same_pairs(again, self_join_pair_scores(expected, 3, 1))


@pytest.mark.parametrize("offset", [0, 10**9], ids=["lookup", "sort"])
def test_dense_index_equals_numpy_unique(offset: int) -> None:
    ids = np.random.default_rng(5).integers(1, 5_000, size=20_000) * 7 + offset
    distinct, index = pair_products._dense_index(ids)
    expected_distinct, expected_index = np.unique(ids, return_inverse=True)
    np.testing.assert_array_equal(distinct, expected_distinct)
    np.testing.assert_array_equal(index, expected_index)
