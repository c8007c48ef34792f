"""The steps the dbt Python models in ``models/ml/`` call: one function per model.

Each takes and returns DataFrames so that a model file stays a dozen lines (config,
``dbt.ref``, parameters, one call here). The arithmetic lives in the modules by concern:
:mod:`~python_jobs.splitting`, :mod:`~python_jobs.als`, :mod:`~python_jobs.tuning`,
:mod:`~python_jobs.recommenders` and :mod:`~python_jobs.evaluation`.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from python_jobs import als, defaults, evaluation, item_knn, splitting, tuning
from python_jobs.columns import PURPOSE, RANK, SCORE, SPLIT, USER_ID
from python_jobs.metrics import regression_metrics, require_columns
from python_jobs.recommenders import LIST_COLUMNS, RECOMMENDERS, distinct_user_ids
from python_jobs.scoring import Interactions

MODEL_PATH = "model_path"
MODEL_SUBDIR = "ml_models"
REGISTRY_SCHEMA = (
    "model_path string, rank int, reg_param double, max_iter int, seed int, num_blocks int, "
    "validation_rmse double, train_rmse double, train_rows bigint, validation_rows bigint, "
    "test_rows bigint, fit_seconds double, trained_at timestamp"
)
ITEM_KNN_TUNING_SCHEMA = (
    "k int, min_co_raters int, user_id int, recommendation_rank int, movie_id int, score double"
)
split_table = splitting.split_table
logger = logging.getLogger(__name__)


def grid_search_table(
    *,
    splits: DataFrame,
    ranks: Sequence[int],
    reg_params: Sequence[float],
    max_iter: int,
    seed: int,
) -> DataFrame:
    """The seed's grid search over a split table, one printed line per finished cell."""
    train, validation, _ = splitting.splits_from_table(splits)
    cells = len(ranks) * len(reg_params)
    print(f"ALS grid search: {cells} fits (ranks {list(ranks)} x regParams {list(reg_params)})")
    result = tuning.grid_search(
        train=train,
        validation=validation,
        ranks=ranks,
        reg_params=reg_params,
        max_iter=max_iter,
        seed=seed,
        progress=tuning.print_grid_cell,
    )
    print(
        f"ALS grid search done in {result.seconds:.1f} s: best rank {result.best_rank}, "
        f"regParam {result.best_reg_param}, validation RMSE {result.best_validation_rmse:.4f}"
    )
    return result.table


def model_directory(session: SparkSession, *, name: str) -> str:
    """Where a fitted model is saved: ``<warehouse>/ml_models/<name>``."""
    warehouse = session.conf.get("spark.sql.warehouse.dir").rstrip("/")
    return f"{warehouse}/{MODEL_SUBDIR}/{name}"


def fit_best_model(
    *,
    session: SparkSession,
    splits: DataFrame,
    grid: DataFrame,
    max_iter: int,
    seed: int,
    name: str = "als",
) -> DataFrame:
    """Refit the grid's best cell as the grid fitted it, save it, return its registry row.

    The refit sees the same rows in the same single partition with the same blocks and
    seed as the grid's fit (:func:`python_jobs.tuning.als_training_set`), so it is the
    chosen model; its RMSEs are measured on the saved model itself, not copied from the
    grid. The model is saved in Spark ML's own format under the warehouse, so that
    :func:`load_model` (and any Spark job) can load it by the recorded path.

    Returns
    -------
    DataFrame
        One row with the columns of ``REGISTRY_SCHEMA``.
    """
    require_columns(grid, ["rank", "reg_param", "validation_rmse", "is_best"], name="grid")
    best = grid.where(sf.col("is_best")).collect()
    if len(best) != 1:
        raise ValueError(
            f"the grid search table must have exactly one is_best row, got {len(best)}"
        )
    best_row = best[0]
    train, validation, _ = splitting.splits_from_table(splits)
    started = time.monotonic()
    model = als.fit_als(
        train=tuning.als_training_set(train),
        rank=int(best_row["rank"]),
        reg_param=float(best_row["reg_param"]),
        max_iter=max_iter,
        seed=seed,
        num_blocks=defaults.ALS_NUM_BLOCKS,
    )
    fit_seconds = time.monotonic() - started
    labelled = train.withColumn(SPLIT, sf.lit("train")).unionByName(
        validation.withColumn(SPLIT, sf.lit("validation"))
    )
    rmse = {
        row[SPLIT]: row["rmse"]
        for row in regression_metrics(
            predictions=als.predict_known(model, labelled), group_cols=[SPLIT]
        ).collect()
    }
    path = model_directory(session, name=name)
    model.write().overwrite().save(path)
    counts = {row[SPLIT]: row["count"] for row in splits.groupBy(SPLIT).count().collect()}
    row = (
        path,
        int(best_row["rank"]),
        float(best_row["reg_param"]),
        int(max_iter),
        int(seed),
        defaults.ALS_NUM_BLOCKS,
        float(rmse["validation"]),
        float(rmse["train"]),
        int(counts.get("train", 0)),
        int(counts.get("validation", 0)),
        int(counts.get("test", 0)),
        float(fit_seconds),
        datetime.now(timezone.utc).replace(tzinfo=None),
    )
    print(
        f"ALS model rank {row[1]} regParam {row[2]} saved to {path}: validation RMSE "
        f"{row[6]:.4f}, train RMSE {row[7]:.4f}"
    )
    return session.createDataFrame([row], schema=REGISTRY_SCHEMA)


def load_model(registry: DataFrame) -> ALSModel:
    """Load the model recorded in a :func:`fit_best_model` table."""
    require_columns(registry, [MODEL_PATH], name="model registry")
    rows = registry.select(MODEL_PATH).collect()
    if len(rows) != 1:
        raise ValueError(f"the model registry must have exactly one row, got {len(rows)}")
    return ALSModel.load(rows[0][MODEL_PATH])


def als_recommendations_table(
    *, registry: DataFrame, ratings: DataFrame, movies: DataFrame, top_n: int
) -> DataFrame:
    """The seed's per-user top-N unrated movies from the registered explicit ALS model."""
    return als.recommend_top_n(
        model=load_model(registry), ratings=ratings, movies=movies, top_n=top_n
    )


def grid_cells(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in the order of its keys."""
    names = list(grid)
    for name, values in grid.items():
        if not list(values):
            raise ValueError(f"the {name} grid is empty")
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def recommender_tuning_table(
    *,
    recommender: str,
    splits: DataFrame,
    grid: Mapping[str, Sequence[Any]],
    fixed: Mapping[str, Any] | None = None,
    top_n: int,
) -> DataFrame:
    """Fit ``recommender`` on train for every grid cell; score its validation lists.

    ``grid`` maps hyperparameter names to their values (an empty grid is one cell);
    ``fixed`` holds settings that are not tuned (e.g. the movie cap of EASE). One line
    is printed per cell, with its validation NDCG@k.
    """
    lists_of = RECOMMENDERS[recommender]
    train, validation, _ = splitting.splits_from_table(splits)
    validation_users = validation.select(USER_ID).distinct()
    cells = grid_cells(grid)
    print(f"{recommender}: tuning {len(cells)} cell(s) on validation NDCG@{top_n}", flush=True)
    frames = []
    for cell in cells:
        started = time.monotonic()
        lists = lists_of(train, validation_users, {**(fixed or {}), **cell}, top_n)
        local = lists.select(*LIST_COLUMNS).toPandas()
        for name, value in cell.items():
            local[name] = value
        frames.append(local)
        print(f"  {recommender} {cell}: lists in {time.monotonic() - started:.1f} s", flush=True)
    session = splits.sparkSession
    combined = session.createDataFrame(pd.concat(frames, ignore_index=True))
    table = tuning.ranking_grid_table(
        lists=combined,
        relevant=validation,
        cell_columns=list(grid),
        k=top_n,
        recommender=recommender,
        fixed=fixed,
    )
    for row in table.where(sf.col(tuning.IS_BEST)).collect():
        print(
            f"{recommender}: best {row[tuning.PARAMS]}, validation NDCG@{top_n} "
            f"{row['ndcg_at_k']:.4f}",
            flush=True,
        )
    return table


def best_params(tuning_table: DataFrame) -> dict[str, Any]:
    """The ``params`` of the tuning table's ``is_best`` row."""
    rows = tuning_table.where(sf.col(tuning.IS_BEST)).select(tuning.PARAMS).collect()
    if len(rows) != 1:
        raise ValueError(f"a tuning table must have exactly one is_best row, got {len(rows)}")
    return json.loads(rows[0][tuning.PARAMS])


def _test_depth(top_n: int, evaluation_depth: int | None) -> int:
    """How deep test-time lists go: ``top_n``, or the curves' ``evaluation_depth`` if deeper."""
    return max(top_n, evaluation_depth or top_n)


def recommender_lists_table(
    *,
    recommender: str,
    splits: DataFrame,
    ratings: DataFrame,
    tuning_table: DataFrame,
    fixed: Mapping[str, Any] | None = None,
    top_n: int,
    evaluation_depth: int | None = None,
) -> DataFrame:
    """The tuned recommender's evaluation lists and served lists, by ``purpose``.

    ``evaluation``: fitted on train + validation, a list of ``max(top_n,
    evaluation_depth)`` movies for every user with a test rating (deep enough for the
    metric curves). ``serving``: fitted on every validated rating (``ratings``), a list of
    ``top_n`` for every user. Both exclude the movies of the fit.
    """
    lists_of = RECOMMENDERS[recommender]
    params = {**(fixed or {}), **best_params(tuning_table)}
    train, validation, test = splitting.splits_from_table(splits)
    ratings = splitting.ids_and_rating(ratings)
    purposes = {
        "evaluation": lists_of(
            train.unionByName(validation), test, params, _test_depth(top_n, evaluation_depth)
        ),
        "serving": lists_of(ratings, ratings, params, top_n),
    }
    frames = [
        lists.select(sf.lit(purpose).alias(PURPOSE), *LIST_COLUMNS)
        for purpose, lists in purposes.items()
    ]
    return (
        frames[0]
        .unionByName(frames[1])
        .select(PURPOSE, USER_ID, sf.col(RANK).cast("int").alias(RANK), "movie_id", "score")
    )


def als_test_lists_table(
    *,
    splits: DataFrame,
    registry: DataFrame,
    top_n: int,
    evaluation_depth: int | None = None,
) -> DataFrame:
    """The registered explicit ALS model's test-time lists, ``max(top_n,
    evaluation_depth)`` deep (:func:`python_jobs.evaluation.als_test_lists`)."""
    return evaluation.als_test_lists(
        splits=splits,
        als_model=load_model(registry),
        depth=_test_depth(top_n, evaluation_depth),
    )


def recommender_evaluation_table(
    *,
    splits: DataFrame,
    registry: DataFrame,
    als_lists: DataFrame,
    recommender_lists: Mapping[str, DataFrame],
    selection: DataFrame,
    top_n: int,
) -> DataFrame:
    """Every recommender on the test split (:func:`python_jobs.evaluation.evaluation_table`).

    The ALS seed's row carries the registered model's rank and regParam as its params, its
    rating errors come from the model, its lists from ``als_lists``
    (:func:`als_test_lists_table`).
    """
    cell = registry.select("rank", "reg_param").first()
    explicit = splits.sparkSession.createDataFrame(
        [(evaluation.EXPLICIT_ALS, json.dumps({"rank": cell[0], "reg_param": cell[1]}))],
        "recommender string, params string",
    ).select(
        "recommender",
        "params",
        sf.lit(None).cast("double").alias("validation_ndcg_at_k"),
        sf.lit(False).alias("is_served"),
    )
    return evaluation.evaluation_table(
        splits=splits,
        als_model=load_model(registry),
        recommender_lists=recommender_lists,
        selection=selection.select(*explicit.columns).unionByName(explicit),
        top_n=top_n,
        als_lists=als_lists,
    )


def metric_curves_table(
    *,
    splits: DataFrame,
    als_lists: DataFrame,
    recommender_lists: Mapping[str, DataFrame],
    max_k: int,
) -> DataFrame:
    """Every recommender's test metrics at k = 1..max_k (:func:`evaluation.metric_curves`),
    the ALS seed's model's from ``als_lists`` (:func:`als_test_lists_table`)."""
    return evaluation.metric_curves(
        splits=splits,
        als_lists=als_lists,
        recommender_lists=recommender_lists,
        max_k=max_k,
    )


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
    max_ratings: int | None = None,
) -> DataFrame | None:
    """The item-kNN tuning grid's lists by the numpy engine (:mod:`python_jobs.item_knn`):
    the rows of the SQL model ``int_item_knn_validation_lists``, fitted on train, for every
    cell (k in ``neighbour_counts`` x co-rater floor in ``floors``) and every user with a
    validation rating. One line is printed per step. None (logged) when the training
    ratings number more than ``max_ratings``: the model's SQL runs instead."""
    train, validation, _ = splitting.splits_from_table(splits)
    if max_ratings is not None and not _within_bound(train, max_ratings, what="item_knn"):
        return None
    started = time.monotonic()
    fit = train.toPandas()
    nearest = item_knn.neighbours(
        fit, floors=floors, max_k=max(neighbour_counts), min_co_raters=min_co_raters
    )
    print(
        f"item_knn: {len(nearest):,} neighbours of the training split in "
        f"{time.monotonic() - started:.1f} s",
        flush=True,
    )
    interactions = Interactions.from_pairs(fit, max_movies=None)
    users = distinct_user_ids(validation)
    frames = []
    for k, floor in itertools.product(sorted(set(neighbour_counts)), sorted(set(floors))):
        started = time.monotonic()
        lists = item_knn.top_n_lists(
            interactions=interactions,
            nearest=nearest[nearest[item_knn.FLOOR] == floor],
            k=k,
            user_ids=users,
            top_n=top_n,
        )
        frames.append(lists.assign(k=k, min_co_raters=floor))
        print(
            f"  item_knn k={k} min_co_raters={floor}: lists in {time.monotonic() - started:.1f} s",
            flush=True,
        )
    return _local_frame(splits.sparkSession, frames, ITEM_KNN_TUNING_SCHEMA)


def item_knn_lists_table(
    *,
    splits: DataFrame,
    ratings: DataFrame,
    tuning_table: DataFrame,
    min_raters: int,
    top_n: int,
    evaluation_depth: int | None = None,
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
    )


def _local_frame(session: SparkSession, frames: list[pd.DataFrame], schema: str) -> DataFrame:
    """Lists made on the driver, as a DataFrame of ``schema``'s columns (ints and a double
    ``score``)."""
    columns = [field.split()[0] for field in schema.split(", ")]
    local = pd.concat(frames, ignore_index=True)[columns]
    types = {name: "float64" if name == SCORE else "int32" for name in columns}
    return session.createDataFrame(local.astype(types), schema=schema)
