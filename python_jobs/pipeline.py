"""The steps the dbt Python models in ``models/ml/`` call: one function per model.

Each takes and returns DataFrames so that a model file stays a dozen lines (config,
``dbt.ref``, parameters, one call here). The ALS arithmetic itself is in
:mod:`python_jobs.als`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone

from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from python_jobs import als
from python_jobs.columns import MOVIE_ID, RATING, USER_ID
from python_jobs.metrics import require_columns

SPLIT = "split"
SPLIT_NAMES = ("train", "validation", "test")
MODEL_PATH = "model_path"
MODEL_SUBDIR = "ml_models"
REGISTRY_SCHEMA = (
    "model_path string, rank int, reg_param double, max_iter int, seed int, "
    "validation_rmse double, train_rmse double, train_rows bigint, validation_rows bigint, "
    "test_rows bigint, fit_seconds double, trained_at timestamp"
)


def split_table(
    *, ratings: DataFrame, weights: Sequence[float] = (0.6, 0.2, 0.2), seed: int = 0
) -> DataFrame:
    """Label every rating with its split (train / validation / test), as the seed split.

    Parameters
    ----------
    ratings
        Columns ``user_id``, ``movie_id``, ``rating``.
    weights, seed
        As :func:`python_jobs.als.split_ratings`; exactly three weights.

    Returns
    -------
    DataFrame
        ``user_id``, ``movie_id``, ``rating``, ``split``.
    """
    if len(weights) != len(SPLIT_NAMES):
        raise ValueError(
            f"als_split_weights needs 3 weights (train, validation, test), got {weights}"
        )
    parts = als.split_ratings(ratings, weights=weights, seed=seed)
    labelled = [
        part.withColumn(SPLIT, sf.lit(name)) for part, name in zip(parts, SPLIT_NAMES, strict=True)
    ]
    return labelled[0].unionByName(labelled[1]).unionByName(labelled[2])


def splits_from_table(splits: DataFrame) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Train, validation and test ratings from a :func:`split_table` table."""
    require_columns(splits, [USER_ID, MOVIE_ID, RATING, SPLIT], name="splits")
    return tuple(  # type: ignore[return-value]
        splits.where(sf.col(SPLIT) == name).select(USER_ID, MOVIE_ID, RATING)
        for name in SPLIT_NAMES
    )


def grid_search_table(
    *,
    splits: DataFrame,
    ranks: Sequence[int],
    reg_params: Sequence[float],
    max_iter: int,
    seed: int,
) -> DataFrame:
    """The seed's grid search over a split table, one printed line per finished cell."""
    train, validation, _ = splits_from_table(splits)
    cells = len(ranks) * len(reg_params)
    print(f"ALS grid search: {cells} fits (ranks {list(ranks)} x regParams {list(reg_params)})")

    result = als.grid_search(
        train=train,
        validation=validation,
        ranks=ranks,
        reg_params=reg_params,
        max_iter=max_iter,
        seed=seed,
        progress=als.print_grid_cell,
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
    """Refit the grid's best cell on the training split, save it, return its registry row.

    The model is saved in Spark ML's own format under the warehouse, so that
    :func:`load_model` (and any Spark job) can load it by the recorded path.

    Returns
    -------
    DataFrame
        One row: ``model_path``, ``rank``, ``reg_param``, ``max_iter``, ``seed``,
        ``validation_rmse``, ``train_rmse``, ``train_rows``, ``validation_rows``,
        ``test_rows``, ``fit_seconds``, ``trained_at``.
    """
    require_columns(grid, ["rank", "reg_param", "validation_rmse", "is_best"], name="grid")
    best = grid.where(sf.col("is_best")).collect()
    if len(best) != 1:
        raise ValueError(
            f"the grid search table must have exactly one is_best row, got {len(best)}"
        )
    best_row = best[0]
    train, _, _ = splits_from_table(splits)
    started = time.monotonic()
    model = als.fit_als(
        train=train,
        rank=int(best_row["rank"]),
        reg_param=float(best_row["reg_param"]),
        max_iter=max_iter,
        seed=seed,
    )
    fit_seconds = time.monotonic() - started
    path = model_directory(session, name=name)
    model.write().overwrite().save(path)
    counts = {row[SPLIT]: row["count"] for row in splits.groupBy(SPLIT).count().collect()}
    row = (
        path,
        int(best_row["rank"]),
        float(best_row["reg_param"]),
        int(max_iter),
        int(seed),
        float(best_row["validation_rmse"]),
        float(best_row["train_rmse"]),
        int(counts.get("train", 0)),
        int(counts.get("validation", 0)),
        int(counts.get("test", 0)),
        float(fit_seconds),
        datetime.now(timezone.utc).replace(tzinfo=None),
    )
    print(f"ALS model rank {row[1]} regParam {row[2]} saved to {path}")
    return session.createDataFrame([row], schema=REGISTRY_SCHEMA)


def load_model(registry: DataFrame) -> ALSModel:
    """Load the model recorded in a :func:`fit_best_model` table."""
    require_columns(registry, [MODEL_PATH], name="model registry")
    rows = registry.select(MODEL_PATH).collect()
    if len(rows) != 1:
        raise ValueError(f"the model registry must have exactly one row, got {len(rows)}")
    return ALSModel.load(rows[0][MODEL_PATH])


def evaluation_table(*, registry: DataFrame, splits: DataFrame, top_n: int) -> DataFrame:
    """The ALS model against the popularity baseline on the test split."""
    train, validation, test = splits_from_table(splits)
    return als.evaluate(
        model=load_model(registry), train=train, validation=validation, test=test, top_n=top_n
    )


def recommendations_table(
    *, registry: DataFrame, ratings: DataFrame, movies: DataFrame, top_n: int
) -> DataFrame:
    """Per-user top-N unrated movies from the registered model."""
    return als.recommend_top_n(
        model=load_model(registry), ratings=ratings, movies=movies, top_n=top_n
    )
