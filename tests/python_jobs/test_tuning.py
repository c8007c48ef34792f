"""python_jobs.tuning: the seed's RMSE grid and the ranking grids, checked independently."""

from __future__ import annotations

import json
import math

import pytest

from python_jobs.columns import MOVIE_ID, RANK, USER_ID
from python_jobs.ranking_tables import grid_cells, recommender_tuning_table
from python_jobs.splitting import random_split
from python_jobs.tuning import GRID_COLUMNS, grid_search, ranking_grid_table
from tests.python_jobs.ratings import SCHEMA, dense_ratings, numpy_predictions, rmse, sparse_ratings


@pytest.mark.parametrize("parallelism", [1, 3])
def test_grid_search_rows_best_and_rmse(spark, parallelism):
    train, validation, _ = random_split(spark.createDataFrame(dense_ratings(), SCHEMA))
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
        rmse(numpy_predictions(result.best_model, validation)), rel=1e-5
    )
    assert result.best_train_rmse == pytest.approx(
        rmse(numpy_predictions(result.best_model, train)), rel=1e-5
    )


def test_grid_search_checks_inputs(spark):
    frame = spark.createDataFrame(dense_ratings(2, 2), SCHEMA)
    with pytest.raises(ValueError, match="non-empty"):
        grid_search(train=frame, validation=frame, ranks=[], reg_params=[0.1])
    with pytest.raises(ValueError, match="parallelism"):
        grid_search(train=frame, validation=frame, ranks=[2], reg_params=[0.1], parallelism=0)
    with pytest.raises(ValueError, match="lacks column"):
        grid_search(train=frame.drop(MOVIE_ID), validation=frame, ranks=[2], reg_params=[0.1])


def _ndcg(hits: list[int], n_relevant: int) -> float:
    dcg = sum(h / math.log2(i + 2) for i, h in enumerate(hits))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(n_relevant, len(hits))))
    return dcg / ideal


def test_ranking_grid_table_scores_each_cell_and_picks_the_best_ndcg(spark):
    # Validation: user 1 -> {10, 11}, user 2 -> {12}.
    relevant = spark.createDataFrame([(1, 10), (1, 11), (2, 12)], f"{USER_ID} int, {MOVIE_ID} int")
    lists = spark.createDataFrame(
        [
            # cell size=1: u1 [11, 13] (hit at 1), u2 [13, 12] (hit at 2)
            (1, 1, 11, 1),
            (1, 1, 13, 2),
            (1, 2, 13, 1),
            (1, 2, 12, 2),
            # cell size=2: u1 [13, 14] (no hit), u2 [12, 14] (hit at 1)
            (2, 1, 13, 1),
            (2, 1, 14, 2),
            (2, 2, 12, 1),
            (2, 2, 14, 2),
        ],
        f"size int, {USER_ID} int, {MOVIE_ID} int, {RANK} int",
    )
    table = (
        ranking_grid_table(
            lists=lists, relevant=relevant, cell_columns=["size"], k=2, recommender="toy"
        )
        .toPandas()
        .set_index("size")
    )
    expected = {
        1: (_ndcg([1, 0], 2) + _ndcg([0, 1], 1)) / 2,
        2: (_ndcg([0, 0], 2) + _ndcg([1, 0], 1)) / 2,
    }
    for size, ndcg in expected.items():
        assert table.loc[size, "ndcg_at_k"] == pytest.approx(ndcg)
        assert json.loads(table.loc[size, "params"]) == {"size": size}
    assert table.loc[1, "precision_at_k"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert table.loc[2, "recall_at_k"] == pytest.approx((0 + 1) / 2)
    best = max(expected, key=expected.get)
    assert table["is_best"].to_dict() == {1: best == 1, 2: best == 2}
    assert (table["recommender"] == "toy").all() and (table["n_users_evaluated"] == 2).all()


def test_ranking_grid_table_refuses_cell_columns_named_like_its_own(spark):
    relevant = spark.createDataFrame([(1, 10)], f"{USER_ID} int, {MOVIE_ID} int")
    lists = spark.createDataFrame(
        [(5, 1, 10, 1)], f"k int, {USER_ID} int, {MOVIE_ID} int, {RANK} int"
    )
    with pytest.raises(ValueError, match=r"cell columns \['k'\] clash"):
        ranking_grid_table(lists=lists, relevant=relevant, cell_columns=["k"], k=1, recommender="x")


def test_grid_cells_are_the_product_and_refuse_an_empty_list():
    assert grid_cells({"a": [1, 2], "b": [0.5]}) == [{"a": 1, "b": 0.5}, {"a": 2, "b": 0.5}]
    assert grid_cells({}) == [{}]
    with pytest.raises(ValueError, match="the b grid is empty"):
        grid_cells({"a": [1], "b": []})


def test_recommender_tuning_table_tunes_ease_on_validation_only(spark):
    from python_jobs.splitting import split_table

    splits = split_table(
        ratings=spark.createDataFrame(sparse_ratings(), SCHEMA), protocol="stratified"
    )
    table = recommender_tuning_table(
        recommender="ease",
        splits=splits,
        grid={"l2_lambda": [1.0, 50.0]},
        fixed={"max_movies": 30},
        top_n=5,
    ).toPandas()
    assert sorted(table["l2_lambda"]) == [1.0, 50.0]
    assert table["is_best"].sum() == 1
    best = table.loc[table["ndcg_at_k"].idxmax()]
    assert bool(best["is_best"])
    validation_users = splits.where("split = 'validation'").select(USER_ID).distinct().count()
    assert (table["n_users_evaluated"] == validation_users).all()
