"""python_jobs.evaluation: one table, every recommender scored the same way on test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyspark.sql import functions as sf

from python_jobs.als import fit_als
from python_jobs.columns import MOVIE_ID, PREDICTION, PURPOSE, RANK, SPLIT, USER_ID
from python_jobs.evaluation import EVALUATION_COLUMNS, als_test_lists, evaluation_table
from python_jobs.popularity import popularity_top_n
from tests.python_jobs.ratings import SCHEMA, numpy_predictions, rmse, sparse_ratings

SELECTION = (
    "recommender string, params string, validation_ndcg_at_k double, "
    "validation_ndcg_std double, validation_carvings int, is_served boolean"
)


def test_popularity_by_hand_and_als_errors_by_numpy(spark):
    train_rows = [(1, 10, 4.0), (2, 10, 3.0), (3, 10, 5.0), (1, 11, 2.0), (2, 11, 4.0)]
    train_rows += [(3, 12, 3.0), (4, 13, 4.0), (4, 10, 2.0), (4, 11, 3.0)]
    validation_rows = [(1, 12, 3.0)]
    test_rows = [(1, 13, 5.0), (2, 12, 1.0), (3, 13, 4.0)]
    splits = spark.createDataFrame(
        [(*r, "train") for r in train_rows]
        + [(*r, "validation") for r in validation_rows]
        + [(*r, "test") for r in test_rows],
        f"{SCHEMA}, {SPLIT} string",
    )
    train = spark.createDataFrame(train_rows, SCHEMA)
    test = spark.createDataFrame(test_rows, SCHEMA)
    fit = spark.createDataFrame(train_rows + validation_rows, SCHEMA)
    model = fit_als(train=train, rank=2, reg_param=0.1, max_iter=5, num_blocks=1)
    popular = popularity_top_n(
        popularity_source=fit, users=test.select(USER_ID), exclude=fit, top_n=2
    ).withColumn(PURPOSE, sf.lit("evaluation"))
    selection = spark.createDataFrame([("popularity", "{}", 0.25, 0.01, 3, True)], SELECTION)
    frame = evaluation_table(
        splits=splits,
        als_model=model,
        recommender_lists={"popularity": popular},
        selection=selection,
        top_n=2,
    )
    assert tuple(frame.columns) == EVALUATION_COLUMNS
    table = {r["recommender"]: r for r in frame.collect()}
    assert set(table) == {"als", "popularity"}
    pop = table["popularity"]
    # Popularity in train + validation: 10 (4), 11 (3), 12 (2), 13 (1).
    # u1 excludes 10,11,12 -> [13], hit@1; u2 excludes 10,11 -> [12, 13], hit@1;
    # u3 excludes 10,12 -> [11, 13], hit@2.
    assert pop["rmse"] is None and pop["mae"] is None
    assert pop["precision_at_k"] == pytest.approx(0.5)
    assert pop["recall_at_k"] == pytest.approx(1.0)
    assert pop["ndcg_at_k"] == pytest.approx((1 + 1 + 1 / math.log2(3)) / 3)
    assert pop["map_at_k"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert pop["catalog_coverage"] == pytest.approx(3 / 4)
    assert (pop["k"], pop["n_users_evaluated"]) == (2, 3)
    assert (pop["params"], pop["validation_ndcg_at_k"], pop["is_served"]) == ("{}", 0.25, True)
    assert (pop["validation_ndcg_std"], pop["validation_carvings"]) == (0.01, 3)

    als = table["als"]
    pairs = numpy_predictions(model, test)
    assert als["rmse"] == pytest.approx(rmse(pairs), rel=1e-5)
    assert als["mae"] == pytest.approx(float(np.mean(np.abs(pairs[:, 0] - pairs[:, 1]))), rel=1e-5)
    assert als["n_users_evaluated"] == 3
    assert als["is_served"] is False


def test_als_test_lists_are_the_best_unseen_predictions_and_feed_the_evaluation(spark):
    rows = sparse_ratings()
    labels = ["train", "train", "train", "validation", "test"]
    splits = spark.createDataFrame(
        [(*r, labels[i % len(labels)]) for i, r in enumerate(rows)], f"{SCHEMA}, {SPLIT} string"
    )
    train = splits.where(sf.col(SPLIT) == "train").drop(SPLIT)
    model = fit_als(train=train, rank=3, reg_param=0.1, max_iter=5, num_blocks=1)
    depth = 4
    got = als_test_lists(splits=splits, als_model=model, depth=depth).toPandas()

    users = {r["id"]: np.array(r["features"], float) for r in model.userFactors.collect()}
    items = {r["id"]: np.array(r["features"], float) for r in model.itemFactors.collect()}
    label = [labels[i % len(labels)] for i in range(len(rows))]
    seen = {(u, m) for (u, m, _), split in zip(rows, label, strict=True) if split != "test"}
    test_users = {u for (u, _, _), split in zip(rows, label, strict=True) if split == "test"}
    expected = []
    for user in sorted(test_users & set(users)):
        candidates = sorted(
            (-float(users[user] @ items[m]), m) for m in items if (user, m) not in seen
        )[:depth]
        expected += [(user, m, -s, rank + 1) for rank, (s, m) in enumerate(candidates)]
    got = got.sort_values([USER_ID, RANK]).reset_index(drop=True)
    assert got[[USER_ID, MOVIE_ID, RANK]].to_numpy().tolist() == [
        [u, m, k] for u, m, _, k in expected
    ]
    np.testing.assert_allclose(got[PREDICTION], [e[2] for e in expected], rtol=1e-9)

    # The evaluation reads the first top_n of each list: the same row as scoring anew.
    no_selection = spark.createDataFrame([], SELECTION)
    kwargs = {"splits": splits, "als_model": model, "recommender_lists": {}, "top_n": 2}
    shared = evaluation_table(
        **kwargs, selection=no_selection, als_lists=spark.createDataFrame(got)
    ).first()
    alone = evaluation_table(**kwargs, selection=no_selection).first()
    for name in ("rmse", "precision_at_k", "recall_at_k", "ndcg_at_k", "catalog_coverage"):
        assert shared[name] == pytest.approx(alone[name], rel=1e-12), name
    assert shared["n_users_evaluated"] == alone["n_users_evaluated"] == len(test_users)
