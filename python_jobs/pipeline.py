"""The steps the dbt Python models in ``models/ml/`` call: one function per model.

Each takes and returns DataFrames so that a model file stays a dozen lines (config,
``dbt.ref``, parameters, one call here): the split, the ALS seed's grid, model and lists,
and the evaluation tables. The ranking recommenders' tables are
:mod:`~python_jobs.ranking_tables`'. The arithmetic lives in the modules by concern:
:mod:`~python_jobs.splitting`, :mod:`~python_jobs.als`, :mod:`~python_jobs.tuning`,
:mod:`~python_jobs.recommenders` and :mod:`~python_jobs.evaluation`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from python_jobs import als, defaults, evaluation, splitting, tuning
from python_jobs.columns import SPLIT
from python_jobs.metrics import regression_metrics, require_columns

MODEL_PATH = "model_path"
MODEL_SUBDIR = "ml_models"
REGISTRY_SCHEMA = (
    "model_path string, rank int, reg_param double, max_iter int, seed int, num_blocks int, "
    "validation_rmse double, train_rmse double, train_rows bigint, validation_rows bigint, "
    "test_rows bigint, fit_seconds double, trained_at timestamp"
)
split_table = splitting.split_table


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
        depth=max(top_n, evaluation_depth or top_n),
    )


def recommender_evaluation_table(
    *,
    splits: DataFrame,
    registry: DataFrame,
    als_lists: DataFrame,
    recommender_lists: Mapping[str, DataFrame],
    selection: DataFrame,
    top_n: int,
    movies: DataFrame | None = None,
) -> DataFrame:
    """Every recommender on the test split (:func:`python_jobs.evaluation.evaluation_table`).

    The ALS seed's row carries the registered model's rank and regParam as its params, its
    rating errors come from the model, its lists from ``als_lists``
    (:func:`als_test_lists_table`); it has no validation figures (its grid is chosen by
    RMSE, ``ml_als_grid_search``). ``movies`` (``movie_id``, ``genres``) feeds the
    genre-based beyond-accuracy metrics.
    """
    cell = registry.select("rank", "reg_param").first()
    explicit = splits.sparkSession.createDataFrame(
        [(evaluation.EXPLICIT_ALS, json.dumps({"rank": cell[0], "reg_param": cell[1]}))],
        "recommender string, params string",
    ).select(
        "recommender",
        "params",
        sf.lit(None).cast("double").alias("validation_ndcg_at_k"),
        sf.lit(None).cast("double").alias("validation_ndcg_std"),
        sf.lit(None).cast("int").alias("validation_carvings"),
        sf.lit(False).alias("is_served"),
    )
    return evaluation.evaluation_table(
        splits=splits,
        als_model=load_model(registry),
        recommender_lists=recommender_lists,
        selection=selection.select(*explicit.columns).unionByName(explicit),
        top_n=top_n,
        als_lists=als_lists,
        movies=movies,
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
