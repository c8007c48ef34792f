"""python_jobs.splitting: the seed's randomSplit and the per-user stratified split."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, RATING, SPLIT, USER_ID
from python_jobs.splitting import (
    VALIDATION_CARVING,
    random_split,
    split_table,
    splits_from_table,
    stratified_split_table,
)
from tests.python_jobs.ratings import SCHEMA, dense_ratings, key_set, sparse_ratings


def test_random_split_is_deterministic_disjoint_and_proportional(spark):
    rows = dense_ratings()  # 2000 ratings
    ratings = spark.createDataFrame(rows, SCHEMA).withColumn("extra", sf.lit("x"))
    first = [key_set(part) for part in random_split(ratings)]
    second = [key_set(part) for part in random_split(ratings)]
    assert first == second
    assert set().union(*first) == {(r[0], r[1]) for r in rows}
    assert sum(len(part) for part in first) == len(rows)
    for part, weight in zip(first, (0.6, 0.2, 0.2), strict=True):
        sd = math.sqrt(len(rows) * weight * (1 - weight))
        assert abs(len(part) - weight * len(rows)) < 4 * sd
    assert random_split(ratings)[0].columns == [USER_ID, MOVIE_ID, RATING]


def test_random_split_ignores_input_partitioning_and_order(spark):
    rows = dense_ratings()
    one = spark.createDataFrame(rows, SCHEMA).coalesce(1)
    shuffled = spark.createDataFrame(list(reversed(rows)), SCHEMA).repartition(7)
    assert [key_set(p) for p in random_split(one, seed=3)] == [
        key_set(p) for p in random_split(shuffled, seed=3)
    ]
    assert key_set(random_split(one, seed=3)[0]) != key_set(random_split(one, seed=4)[0])


def test_random_split_checks_inputs(spark):
    ratings = spark.createDataFrame(dense_ratings(2, 2), SCHEMA)
    with pytest.raises(ValueError, match="lacks column"):
        random_split(ratings.drop(RATING))
    with pytest.raises(ValueError, match="weights"):
        random_split(ratings, weights=(1.0,))
    with pytest.raises(ValueError, match="weights"):
        random_split(ratings, weights=(0.5, -0.5))


@pytest.mark.parametrize(("share", "validation_share"), [(0.75, 0.1), (0.8, 0.25)])
def test_stratified_split_sizes_per_user_follow_python_round(spark, share, validation_share):
    rows = sparse_ratings()
    table = stratified_split_table(
        spark.createDataFrame(rows, SCHEMA),
        train_share=share,
        validation_share=validation_share,
        seed=5,
    ).toPandas()
    assert len(table) == len(rows)
    assert set(zip(table[USER_ID], table[MOVIE_ID], strict=True)) == {(u, m) for u, m, _ in rows}
    counts = pd.crosstab(table[USER_ID], table[SPLIT])
    n = pd.Series([u for u, _, _ in rows]).value_counts().sort_index()
    n_fit = n.map(lambda x: round(share * x))  # Python's round: half to even
    expected_test = n - n_fit
    expected_validation = n_fit - n_fit.map(lambda x: round((1 - validation_share) * x))
    assert counts.get("test", 0).reindex(n.index, fill_value=0).tolist() == expected_test.tolist()
    assert (
        counts.get("validation", 0).reindex(n.index, fill_value=0).tolist()
        == expected_validation.tolist()
    )


def test_stratified_split_depends_on_rows_and_seed_only(spark):
    rows = sparse_ratings()
    one = spark.createDataFrame(rows, SCHEMA).coalesce(1)
    shuffled = spark.createDataFrame(list(reversed(rows)), SCHEMA).repartition(5)

    def labels(frame, seed):
        table = stratified_split_table(frame, seed=seed).collect()
        return {(r[USER_ID], r[MOVIE_ID]): r[SPLIT] for r in table}

    assert labels(one, 42) == labels(shuffled, 42)
    assert labels(one, 42) != labels(one, 43)


def test_split_table_protocols_and_checks(spark):
    ratings = spark.createDataFrame(sparse_ratings(), SCHEMA)
    seed = split_table(ratings=ratings, protocol="seed").groupBy(SPLIT).count().collect()
    assert {r[SPLIT] for r in seed} == {"train", "validation", "test"}
    with pytest.raises(ValueError, match="protocol must be one of"):
        split_table(ratings=ratings, protocol="random")
    with pytest.raises(ValueError, match="3 weights"):
        split_table(ratings=ratings, protocol="seed", weights=(0.5, 0.5))
    with pytest.raises(ValueError, match="train_share"):
        stratified_split_table(ratings, train_share=1.0)
    with pytest.raises(ValueError, match="validation_share"):
        stratified_split_table(ratings, validation_share=0)
    with pytest.raises(ValueError, match="seed"):
        stratified_split_table(ratings, seed="1")


def test_validation_carvings_are_disjoint_segments_of_each_users_training_part(spark):
    rows = sparse_ratings()
    table = stratified_split_table(
        spark.createDataFrame(rows, SCHEMA), train_share=0.75, validation_share=0.1, carvings=3
    ).toPandas()
    n = table.groupby(USER_ID).size()
    n_fit = n.map(lambda x: round(0.75 * x))
    size = n_fit - n_fit.map(lambda x: round(0.9 * x))  # the validation part of one carving
    carving = table[VALIDATION_CARVING]
    # carving 0 is the split's validation; no carving reaches into test
    assert ((carving == 0) == (table[SPLIT] == "validation")).all()
    assert carving[table[SPLIT] == "test"].isna().all()
    for number in range(3):
        # a carving holds one validation part of every user whose training part has room
        held = table[carving == number].groupby(USER_ID).size().reindex(n.index, fill_value=0)
        room = n_fit >= (number + 1) * size
        expected = size.where(room, 0).where(size > 0, 0)
        assert held.tolist() == expected.tolist(), number
    assert (carving.dropna() < 3).all() and carving.notna().sum() > 2 * len(n)


def test_splits_of_a_carving_partition_the_training_part(spark):
    rows = sparse_ratings()
    splits = stratified_split_table(spark.createDataFrame(rows, SCHEMA), carvings=2)
    fit = key_set(splits.where(sf.col(SPLIT) != "test"))
    test = key_set(splits.where(sf.col(SPLIT) == "test"))
    held_first = key_set(splits.where(sf.col(VALIDATION_CARVING) == 1))
    train, validation, carving_test = (key_set(part) for part in splits_from_table(splits, 1))
    assert validation == held_first and validation and not validation & train
    assert train | validation == fit and carving_test == test
    # carving 0 is the split column's
    zero = [key_set(part) for part in splits_from_table(splits, 0)]
    assert zero[1] == key_set(splits.where(sf.col(SPLIT) == "validation"))
