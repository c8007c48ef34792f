"""The ranking recommenders' tables, one function per dbt model: tuning and lists by purpose.

* ``ml_<name>_tuning`` (:func:`recommender_tuning_table`): every grid cell fitted on carving 0's
  training part and scored on its validation part (NDCG@k); the best cell is ``is_best``.
* ``ml_<name>_recommendations`` (:func:`recommender_lists_table`): the best cell's lists for
  every purpose of :mod:`python_jobs.scopes`: ``validation`` (each carving; the spread of its
  validation NDCG and the blend's input), ``evaluation`` (the test lists) and ``serving``.
* item-kNN's engine tables (:func:`item_knn_validation_lists_table`,
  :func:`item_knn_lists_table`): the rows of its SQL definitions, computed in Spark tasks.

The lists of ``validation`` and ``serving`` are ``blend_depth`` deep (the blend fuses them),
the test lists as deep as the metric curves and the blend need.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs import item_knn, tuning
from python_jobs.columns import MOVIE_ID, PURPOSE, RANK, SCORE, USER_ID
from python_jobs.recommenders import RECOMMENDERS, Job, item_knn_grid_task
from python_jobs.scopes import (
    CARVING,
    EVALUATION,
    JOB,
    SERVING,
    TUNING,
    VALIDATION,
    Scope,
    relevant,
    scope_rows,
)
from python_jobs.splitting import VALIDATION_CARVING
from python_jobs.tasks import run_jobs

logger = logging.getLogger(__name__)
LISTS_COLUMNS = (PURPOSE, CARVING, USER_ID, RANK, MOVIE_ID, SCORE)
ITEM_KNN_TUNING_SCHEMA = (
    "k int, min_co_raters int, user_id int, recommendation_rank int, movie_id int, score double"
)


def grid_cells(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in the order of its keys."""
    names = list(grid)
    for name, values in grid.items():
        if not list(values):
            raise ValueError(f"the {name} grid is empty")
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def carvings_of(splits: DataFrame) -> list[int]:
    """The validation carvings the split table holds, ascending."""
    rows = splits.select(VALIDATION_CARVING).where(sf.col(VALIDATION_CARVING).isNotNull())
    return sorted(int(row[0]) for row in rows.distinct().collect())


def recommender_tuning_table(
    *,
    recommender: str,
    splits: DataFrame,
    grid: Mapping[str, Sequence[Any]],
    fixed: Mapping[str, Any] | None = None,
    top_n: int,
    max_users: int | None = None,
) -> DataFrame:
    """Fit ``recommender`` on carving 0's training part for every grid cell; score the
    validation lists (of at most ``max_users`` sampled users, :mod:`python_jobs.scopes`).

    ``grid`` maps hyperparameter names to their values (an empty grid is one cell);
    ``fixed`` holds settings that are not tuned (e.g. the movie cap of EASE).
    """
    cells = grid_cells(grid)
    scope = Scope(TUNING, 0)
    jobs = {n: Job({**(fixed or {}), **cell}, scope, top_n) for n, cell in enumerate(cells)}
    print(f"{recommender}: tuning {len(cells)} cell(s) on validation NDCG@{top_n}", flush=True)
    started = time.monotonic()
    lists = RECOMMENDERS[recommender](splits, splits, jobs, max_users)
    session = splits.sparkSession
    if grid:
        cell_frame = session.createDataFrame(
            pd.DataFrame([{JOB: n, **cell} for n, cell in enumerate(cells)])
        )
        lists = lists.join(sf.broadcast(cell_frame), on=JOB)
    table = tuning.ranking_grid_table(
        lists=lists.drop(JOB),
        relevant=relevant(scope, splits, max_users),
        cell_columns=list(grid),
        k=top_n,
        recommender=recommender,
        fixed=fixed,
    )
    for row in table.where(sf.col(tuning.IS_BEST)).collect():
        print(
            f"{recommender}: best {row[tuning.PARAMS]}, validation NDCG@{top_n} "
            f"{row['ndcg_at_k']:.4f} ({time.monotonic() - started:.1f} s)",
            flush=True,
        )
    return table


def best_params(tuning_table: DataFrame) -> dict[str, Any]:
    """The ``params`` of the tuning table's ``is_best`` row."""
    rows = tuning_table.where(sf.col(tuning.IS_BEST)).select(tuning.PARAMS).collect()
    if len(rows) != 1:
        raise ValueError(f"a tuning table must have exactly one is_best row, got {len(rows)}")
    return json.loads(rows[0][tuning.PARAMS])


def list_depths(top_n: int, evaluation_depth: int | None, blend_depth: int | None) -> dict:
    """How deep each purpose's lists go: ``top_n`` at least; the blend's depth for
    validation and serving; the test lists also as deep as the metric curves."""
    blend = max(top_n, blend_depth or top_n)
    return {
        VALIDATION: blend,
        EVALUATION: max(blend, evaluation_depth or top_n),
        SERVING: blend,
    }


def purpose_jobs(
    params: Mapping[str, Any], carvings: Sequence[int], depths: Mapping[str, int]
) -> dict[int, Job]:
    """The jobs of a recommendations table: each carving's validation, the test lists and the
    served lists."""
    scopes = [Scope(VALIDATION, c) for c in carvings] + [Scope(EVALUATION), Scope(SERVING)]
    return {n: Job(dict(params), scope, depths[scope.purpose]) for n, scope in enumerate(scopes)}


def _labelled(lists: DataFrame, jobs: Mapping[int, Job]) -> DataFrame:
    """Lists by ``job`` with their ``purpose`` and ``carving`` instead (``LISTS_COLUMNS``)."""
    labels = lists.sparkSession.createDataFrame(
        [(n, job.scope.purpose, job.scope.carving) for n, job in jobs.items()],
        f"{JOB} int, {PURPOSE} string, {CARVING} int",
    )
    return lists.join(sf.broadcast(labels), on=JOB).select(
        PURPOSE,
        CARVING,
        USER_ID,
        sf.col(RANK).cast("int").alias(RANK),
        MOVIE_ID,
        sf.col(SCORE).cast("double").alias(SCORE),
    )


def recommender_lists_table(
    *,
    recommender: str,
    splits: DataFrame,
    ratings: DataFrame,
    tuning_table: DataFrame,
    fixed: Mapping[str, Any] | None = None,
    top_n: int,
    evaluation_depth: int | None = None,
    blend_depth: int | None = None,
    max_users: int | None = None,
) -> DataFrame:
    """The tuned recommender's lists by ``purpose`` (and ``carving``) (``LISTS_COLUMNS``).

    ``validation``: fitted on each carving's training part, for its validation users (at
    most ``max_users``, the tuning's sample); ``evaluation``: fitted on train + validation,
    for every user with a test rating; ``serving``: fitted on every validated rating
    (``ratings``), for every user. Depths: :func:`list_depths`. Every list excludes the
    movies of its fit.
    """
    params = {**(fixed or {}), **best_params(tuning_table)}
    jobs = purpose_jobs(
        params, carvings_of(splits), list_depths(top_n, evaluation_depth, blend_depth)
    )
    lists = RECOMMENDERS[recommender](splits, ratings, jobs, max_users)
    return _labelled(lists, jobs)


def _within_bound(ratings: DataFrame, max_ratings: int, *, what: str) -> bool:
    """Whether ``ratings`` number at most ``max_ratings``; logs why not."""
    count = ratings.count()
    if count > max_ratings:
        logger.info(
            f"{what}: {count:,} ratings exceed knn_numpy_max_ratings ({max_ratings:,}, about "
            f"{max_ratings * item_knn.BYTES_PER_RATING / 1e9:.1f} GB in one process)"
        )
        return False
    return True


def item_knn_validation_lists_table(
    *,
    splits: DataFrame,
    neighbour_counts: Sequence[int],
    floors: Sequence[int],
    min_co_raters: int,
    top_n: int,
    max_users: int | None = None,
    max_ratings: int | None = None,
) -> DataFrame | None:
    """The item-kNN tuning grid's lists by the numpy engine, in Spark tasks: the rows of the
    SQL model ``int_item_knn_validation_lists``, fitted on carving 0's training part, for
    every cell (k in ``neighbour_counts`` x co-rater floor in ``floors``) and every
    (sampled) validation user; one task a floor, whose neighbours serve every k. None
    (logged) when the training ratings number more than ``max_ratings``: the model's SQL
    runs instead."""
    scope = Scope(TUNING, 0)
    if max_ratings is not None:
        train = splits.where(
            (sf.col("split") != "test")
            & ~sf.coalesce(sf.col(VALIDATION_CARVING) == 0, sf.lit(False))
        )
        if not _within_bound(train, max_ratings, what="item_knn"):
            return None
    ks = sorted({int(k) for k in neighbour_counts})
    jobs = {
        n: Job({"min_co_raters": int(floor), "ks": ks, "min_raters": int(min_co_raters)},
               scope, top_n)
        for n, floor in enumerate(sorted({int(f) for f in floors}))
    }  # fmt: skip
    rows = scope_rows({n: job.scope for n, job in jobs.items()}, splits, splits, max_users)
    return run_jobs(rows, jobs, item_knn_grid_task, ITEM_KNN_TUNING_SCHEMA).drop(JOB)


def item_knn_lists_table(
    *,
    splits: DataFrame,
    ratings: DataFrame,
    tuning_table: DataFrame,
    min_raters: int,
    top_n: int,
    evaluation_depth: int | None = None,
    blend_depth: int | None = None,
    max_users: int | None = None,
    max_ratings: int | None = None,
) -> DataFrame | None:
    """``ml_item_knn_recommendations`` by the numpy engine: :func:`recommender_lists_table`
    for item-kNN, movies pruned below ``min_raters`` raters as in the SQL; None (logged)
    when the validated ratings number more than ``max_ratings``."""
    if max_ratings is not None and not _within_bound(ratings, max_ratings, what="item_knn"):
        return None
    return recommender_lists_table(
        recommender="item_knn",
        splits=splits,
        ratings=ratings,
        tuning_table=tuning_table,
        fixed={"min_raters": min_raters},
        top_n=top_n,
        evaluation_depth=evaluation_depth,
        blend_depth=blend_depth,
        max_users=max_users,
    )


BLEND_TUNING_SCHEMA = "carving int, weights string, ndcg_at_k double, held_out boolean"
BLEND = "blend"
# Tasks the blend's lists of one purpose are fused in (users split by a hash).
BLEND_BUCKETS = 4


def _validation_lists(recommender_lists: Mapping[str, DataFrame]) -> DataFrame:
    """Every recommender's validation lists: ``recommender``, ``carving``, ``user_id``,
    ``movie_id``, ``score``."""
    parts = [
        lists.where(sf.col(PURPOSE) == VALIDATION).select(
            sf.lit(name).alias("recommender"), CARVING, USER_ID, MOVIE_ID, SCORE
        )
        for name, lists in sorted(recommender_lists.items())
    ]
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def blend_tuning_table(
    *,
    splits: DataFrame,
    recommender_lists: Mapping[str, DataFrame],
    top_n: int,
    max_users: int | None = None,
) -> DataFrame:
    """``ml_blend_tuning``: the blend's weights over ``recommender_lists`` (name -> lists
    table), tuned on the validation lists of every carving (:func:`python_jobs.blend.
    tune_weights`), in one Spark task; ``BLEND_TUNING_SCHEMA``."""
    names = sorted(recommender_lists)
    relevant_rows = None
    for carving in carvings_of(splits):
        held = relevant(Scope(VALIDATION, carving), splits, max_users).select(
            sf.lit("relevant").alias("recommender"),
            sf.lit(carving).alias(CARVING),
            USER_ID,
            MOVIE_ID,
            sf.lit(None).cast("double").alias(SCORE),
        )
        relevant_rows = held if relevant_rows is None else relevant_rows.unionByName(held)
    rows = _validation_lists(recommender_lists).unionByName(relevant_rows)
    print(f"blend: tuning the weights of {names} on validation NDCG@{top_n}", flush=True)
    table = run_jobs(
        rows.select(sf.lit(0).alias(JOB), *rows.columns),
        {0: (names, int(top_n))},
        _blend_tuning_task,
        BLEND_TUNING_SCHEMA,
    ).drop(JOB)
    return table


def _blend_tuning_task(params: tuple[list[str], int], frame: pd.DataFrame) -> pd.DataFrame:
    from python_jobs import blend

    names, top_n = params
    carvings = {}
    for carving, rows in frame.groupby(CARVING):
        held = rows[rows["recommender"] == "relevant"]
        relevant_sets = held.groupby(USER_ID)[MOVIE_ID].agg(lambda ids: set(ids.tolist()))
        lists = rows[rows["recommender"] != "relevant"]
        carvings[int(carving)] = (blend.Candidates(lists, names), relevant_sets.to_dict())
    table = blend.tune_weights(carvings, names, top_n)
    return table.astype({"ndcg_at_k": "float64", "held_out": "bool"}).assign(
        carving=table["carving"].astype("Int32")
    )


def blend_lists_table(
    *,
    splits: DataFrame,
    recommender_lists: Mapping[str, DataFrame],
    tuning_table: DataFrame,
    top_n: int,
    evaluation_depth: int | None = None,
    blend_depth: int | None = None,
) -> DataFrame:
    """``ml_blend_recommendations``: the recommenders' lists fused with the blend's weights,
    by purpose (``LISTS_COLUMNS``): each carving's validation lists with the weights tuned on
    the other carvings, the test and the served lists with the final weights. Fused in Spark
    tasks, ``BLEND_BUCKETS`` a purpose."""
    tuned = {
        (None if row["carving"] is None else int(row["carving"])): json.loads(row["weights"])
        for row in tuning_table.collect()
    }
    depths = list_depths(top_n, evaluation_depth, blend_depth)
    scopes = [(VALIDATION, c) for c in sorted(c for c in tuned if c is not None)]
    scopes += [(EVALUATION, None), (SERVING, None)]
    params = {}
    labels = []
    for number, (purpose, carving) in enumerate(scopes):
        weights = tuned[carving] if purpose == VALIDATION else tuned[None]
        for bucket in range(BLEND_BUCKETS):
            params[number * BLEND_BUCKETS + bucket] = (weights, depths[purpose])
            labels.append((number * BLEND_BUCKETS + bucket, purpose, carving))
    parts = []
    for name, lists in sorted(recommender_lists.items()):
        parts.append(
            lists.select(sf.lit(name).alias("recommender"), PURPOSE, CARVING, USER_ID,
                         MOVIE_ID, SCORE)
        )  # fmt: skip
    rows = parts[0]
    for part in parts[1:]:
        rows = rows.unionByName(part)
    scope_index = sf.lit(-1)
    for number, (purpose, carving) in enumerate(scopes):
        same_carving = sf.col(CARVING).isNull() if carving is None else sf.col(CARVING) == carving
        scope_index = sf.when(
            (sf.col(PURPOSE) == purpose) & same_carving, sf.lit(number)
        ).otherwise(scope_index)
    bucket = sf.pmod(sf.xxhash64(USER_ID), sf.lit(BLEND_BUCKETS))
    rows = rows.withColumn(JOB, (scope_index * BLEND_BUCKETS + bucket).cast("int")).where(
        sf.col(JOB) >= 0
    )
    fused = run_jobs(
        rows.select(JOB, "recommender", USER_ID, MOVIE_ID, SCORE), params, _blend_task,
        "user_id int, movie_id int, score double, recommendation_rank int",
    )  # fmt: skip
    label_frame = splits.sparkSession.createDataFrame(
        labels, f"{JOB} int, {PURPOSE} string, {CARVING} int"
    )
    return fused.join(sf.broadcast(label_frame), on=JOB).select(*LISTS_COLUMNS)


def _blend_task(params: tuple[dict[str, float], int], frame: pd.DataFrame) -> pd.DataFrame:
    from python_jobs import blend

    weights, depth = params
    lists = blend.fused_lists(frame, weights, depth)
    return lists.astype({USER_ID: "int32", MOVIE_ID: "int32", SCORE: "float64", RANK: "int32"})
