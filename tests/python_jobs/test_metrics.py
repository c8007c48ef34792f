"""Tests for python_jobs.metrics against plain-Python / numpy implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.ml.evaluation import RankingEvaluator
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, PREDICTION, RANK, RATING, USER_ID
from python_jobs.metrics import (
    catalog_coverage,
    ranking_metric_curves,
    ranking_metrics,
    regression_metrics,
)
from tests.reference import reference_ranking

# user -> ranked recommendations (rank 1 first); user 4 has no list, user 5 no test movie.
RECOMMENDED = {
    1: [10, 11, 12, 13, 14],
    2: [20, 10, 21],
    3: [30, 31, 32, 33, 34, 35],
    5: [10, 50],
}
RELEVANT = {
    1: {11, 14, 99},
    2: {20, 21, 10, 22, 23, 24},
    3: {77},
    4: {10},
}
CATALOG = [10, 11, 12, 13, 14, 20, 21, 30, 31, 32, 33, 34, 35, 50, 60, 61]


def _frames(spark):
    recs = spark.createDataFrame(
        [(u, m, r + 1) for u, movies in RECOMMENDED.items() for r, m in enumerate(movies)],
        f"{USER_ID} int, {MOVIE_ID} int, {RANK} int",
    )
    truth = spark.createDataFrame(
        [(u, m) for u, movies in RELEVANT.items() for m in sorted(movies)] + [(1, 11)],
        f"{USER_ID} int, {MOVIE_ID} int",
    )
    return recs, truth


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_ranking_metrics_match_reference(spark, k):
    recs, truth = _frames(spark)
    got = ranking_metrics(recommendations=recs, relevant=truth, k=k).first().asDict()
    expected = reference_ranking(RECOMMENDED, RELEVANT, k)
    assert got["n_users_evaluated"] == expected["n_users_evaluated"]
    for name in ("precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k"):
        assert got[name] == pytest.approx(expected[name], abs=1e-12), name


def test_metric_curves_match_the_reference_at_every_k(spark):
    recs, truth = _frames(spark)
    cells = recs.withColumn("cell", sf.lit("a")).unionByName(
        recs.where(sf.col(USER_ID) != 2).withColumn("cell", sf.lit("b"))
    )
    rows = ranking_metric_curves(
        recommendations=cells, relevant=truth, max_k=7, group_cols=["cell"]
    ).collect()
    got = {(r["cell"], r["k"]): r.asDict() for r in rows}
    assert set(got) == {(cell, k) for cell in "ab" for k in range(1, 8)}
    without_user_2 = {u: movies for u, movies in RECOMMENDED.items() if u != 2}
    for (cell, k), row in got.items():
        expected = reference_ranking(RECOMMENDED if cell == "a" else without_user_2, RELEVANT, k)
        assert row["n_users_evaluated"] == expected["n_users_evaluated"]
        for name in ("precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k"):
            assert row[name] == pytest.approx(expected[name], abs=1e-12), (cell, k, name)
    with pytest.raises(ValueError, match="max_k must be a positive int"):
        ranking_metric_curves(recommendations=recs, relevant=truth, max_k=0)
    with pytest.raises(ValueError, match="named k"):
        ranking_metric_curves(
            recommendations=recs.withColumn("k", sf.lit(1)),
            relevant=truth,
            max_k=3,
            group_cols=["k"],
        )


def test_ranking_metrics_hand_computed_k3(spark):
    # k=3. u1: hits at ranks 2 (11); u2: ranks 1,2,3 (20,10,21); u3: none; u4: none.
    recs, truth = _frames(spark)
    got = ranking_metrics(recommendations=recs, relevant=truth, k=3).first()
    assert got["precision_at_k"] == pytest.approx((1 / 3 + 3 / 3 + 0 + 0) / 4)
    assert got["recall_at_k"] == pytest.approx((1 / 3 + 3 / 6 + 0 + 0) / 4)
    idcg3 = 1 + 1 / math.log2(3) + 1 / 2
    assert got["ndcg_at_k"] == pytest.approx(((1 / math.log2(3)) / idcg3 + 1.0) / 4)
    assert got["map_at_k"] == pytest.approx(((1 / 2) / 3 + 1.0) / 4)


def test_ranking_metrics_agree_with_spark_ranking_evaluator(spark):
    recs, truth = _frames(spark)
    rows = []
    for user, movies in RELEVANT.items():
        predicted = [float(m) for m in RECOMMENDED.get(user, [])]
        rows.append((predicted, [float(m) for m in sorted(movies)]))
    frame = spark.createDataFrame(rows, "prediction array<double>, label array<double>")
    ours = ranking_metrics(recommendations=recs, relevant=truth, k=3).first()
    for metric, column in (
        ("precisionAtK", "precision_at_k"),
        ("recallAtK", "recall_at_k"),
        ("ndcgAtK", "ndcg_at_k"),
        ("meanAveragePrecisionAtK", "map_at_k"),
    ):
        evaluator = RankingEvaluator(metricName=metric, k=3)
        assert ours[column] == pytest.approx(evaluator.evaluate(frame), abs=1e-12), metric


def test_ranking_metrics_ignore_ranks_beyond_k(spark):
    recs = spark.createDataFrame(
        [(1, 5, 1), (1, 6, 2)], f"{USER_ID} int, {MOVIE_ID} int, {RANK} int"
    )
    truth = spark.createDataFrame([(1, 6)], f"{USER_ID} int, {MOVIE_ID} int")
    got = ranking_metrics(recommendations=recs, relevant=truth, k=1).first()
    assert got["precision_at_k"] == 0.0
    assert got["map_at_k"] == 0.0


def test_coverage_inline_and_standalone_agree_with_hand_count(spark):
    recs, truth = _frames(spark)
    catalog = spark.createDataFrame([(m,) for m in CATALOG], f"{MOVIE_ID} int")
    # top-2 lists: {10,11}, {20,10}, {30,31}, {10,50} -> 6 distinct of 16.
    inline = ranking_metrics(recommendations=recs, relevant=truth, k=2, catalog=catalog).first()
    alone = catalog_coverage(recommendations=recs, catalog=catalog, k=2).first()
    assert inline["catalog_coverage"] == pytest.approx(6 / 16)
    assert alone["catalog_coverage"] == pytest.approx(6 / 16)


def test_grouped_metrics_equal_each_group_scored_alone(spark):
    recs, truth = _frames(spark)
    shifted = recs.withColumn(RANK, sf.col(RANK) + sf.lit(1))  # every list one rank lower
    both = recs.withColumn("cell", sf.lit("a")).unionByName(shifted.withColumn("cell", sf.lit("b")))
    grouped = {
        r["cell"]: r.asDict()
        for r in ranking_metrics(
            recommendations=both, relevant=truth, k=3, group_cols=["cell"]
        ).collect()
    }
    for cell, frame in (("a", recs), ("b", shifted)):
        alone = ranking_metrics(recommendations=frame, relevant=truth, k=3).first().asDict()
        assert grouped[cell].pop("cell") == cell
        assert grouped[cell] == pytest.approx(alone, rel=1e-12)
    assert grouped["a"]["ndcg_at_k"] != grouped["b"]["ndcg_at_k"]
    # A group column may be called k: the cut-off has a column of its own.
    as_k = ranking_metrics(
        recommendations=both.withColumnRenamed("cell", "k"), relevant=truth, k=3, group_cols=["k"]
    ).collect()
    assert {r["k"]: r["ndcg_at_k"] for r in as_k} == pytest.approx(
        {cell: grouped[cell]["ndcg_at_k"] for cell in grouped}, rel=1e-12
    )


def test_regression_metrics_match_numpy(spark):
    rows = [(1, 1, 4.0, 3.5), (1, 2, 2.0, 2.75), (2, 1, 5.0, 4.0), (2, 3, 1.0, 1.25)]
    frame = spark.createDataFrame(
        rows, f"{USER_ID} int, {MOVIE_ID} int, {RATING} double, {PREDICTION} float"
    )
    errors = np.array([r[2] - r[3] for r in rows])
    got = regression_metrics(predictions=frame).first()
    assert got["rmse"] == pytest.approx(float(np.sqrt(np.mean(errors**2))))
    assert got["mae"] == pytest.approx(float(np.mean(np.abs(errors))))
    assert got["n_predictions"] == 4
    by_user = {
        r[USER_ID]: r["rmse"]
        for r in regression_metrics(predictions=frame, group_cols=[USER_ID]).collect()
    }
    assert by_user[2] == pytest.approx(float(np.sqrt(np.mean(errors[2:] ** 2))))


def test_inputs_checked_without_running_spark(spark):
    recs, truth = _frames(spark)
    with pytest.raises(ValueError, match="k must be a positive int"):
        ranking_metrics(recommendations=recs, relevant=truth, k=0)
    with pytest.raises(ValueError, match="lacks column"):
        ranking_metrics(recommendations=recs.drop(RANK), relevant=truth, k=3)
    with pytest.raises(ValueError, match="lacks column"):
        regression_metrics(predictions=truth.withColumn(RATING, sf.lit(1.0)))
