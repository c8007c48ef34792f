"""Choosing hyperparameters on the validation split, never on test.

* :func:`grid_search`: the ALS seed's search, explicit ALS over rank x regParam, lowest
  validation RMSE wins.
* :func:`ranking_grid_table`: any recommender's lists for the validation users, one list
  set per grid cell, scored with the ranking metrics; the highest validation NDCG@k wins.
  :func:`ease_grid`, :func:`implicit_als_grid` and :func:`popularity_grid` produce those
  lists (the item-kNN lists come from SQL).
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs import als, defaults
from python_jobs.columns import MOVIE_ID, RANK, RATING, RECOMMENDER, USER_ID
from python_jobs.metrics import (
    RANKING_METRIC_COLUMNS,
    check_positive_int,
    ranking_metrics,
    regression_metrics,
    require_columns,
)
from python_jobs.splitting import ids_and_rating

GRID_COLUMNS = (
    "rank",
    "reg_param",
    "max_iter",
    "validation_rmse",
    "train_rmse",
    "fit_seconds",
    "is_best",
)
PARAMS = "params"
IS_BEST = "is_best"


def als_training_set(train: DataFrame) -> DataFrame:
    """The ALS input as every fit here sees it: ids and rating, one partition.

    One partition makes a fit a function of the rating set alone, so the saved model
    refit from the same rows is the grid's fit, factor for factor.
    """
    return ids_and_rating(train).coalesce(1)


def activate_in_this_thread(session: Any) -> None:
    """Make ``session`` the active one in a worker thread, where Spark Connect needs it.

    Over Spark Connect the active session is thread-local and ``pyspark.ml`` looks it up
    (``pyspark/ml/util.py`` ``try_remote_call``), so a fit submitted from a pool thread
    fails with a bare AssertionError unless the thread has one. Classic sessions keep the
    active session in the JVM and need nothing.
    """
    activate = getattr(type(session), "_set_default_and_active_session", None)
    if type(session).__module__.startswith("pyspark.sql.connect") and activate is not None:
        activate(session)


def print_grid_cell(row: dict[str, Any]) -> None:
    """Print one finished grid cell; pass as ``grid_search(progress=print_grid_cell)``."""
    print(
        f"  rank {row['rank']:>3} regParam {row['reg_param']:<5}: validation RMSE "
        f"{row['validation_rmse']:.4f}, train RMSE {row['train_rmse']:.4f} "
        f"({row['fit_seconds']:.1f} s)",
        flush=True,
    )


@dataclass(frozen=True)
class GridSearchResult:
    """What :func:`grid_search` found.

    Attributes
    ----------
    table
        One row per (rank, reg_param): ``rank`` int, ``reg_param`` double, ``max_iter``
        int, ``validation_rmse`` double, ``train_rmse`` double, ``fit_seconds`` double,
        ``is_best`` boolean (exactly one true: lowest validation RMSE, ties to the
        earlier cell in rank-major order, like the seed's loop).
    best_model
        The fitted model of the best cell.
    best_rank, best_reg_param, best_validation_rmse, best_train_rmse
        The best cell's values.
    seconds
        Wall time of the whole search.
    """

    table: DataFrame
    best_model: ALSModel
    best_rank: int
    best_reg_param: float
    best_validation_rmse: float
    best_train_rmse: float
    seconds: float


def grid_search(
    *,
    train: DataFrame,
    validation: DataFrame,
    ranks: Sequence[int] = defaults.ALS_RANKS,
    reg_params: Sequence[float] = defaults.ALS_REG_PARAMS,
    max_iter: int = defaults.ALS_MAX_ITER,
    seed: int = defaults.SEED,
    parallelism: int = 2,
    num_blocks: int = defaults.ALS_NUM_BLOCKS,
    checkpoint_interval: int = 10,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> GridSearchResult:
    """Fit ALS for every (rank, reg_param) and pick the lowest validation RMSE.

    The seed's search, faster: ``train`` and ``validation`` are cached once (one
    partition each) and shared by all fits; ``parallelism`` threads submit fits
    concurrently so that one fit's driver-side scheduling overlaps another's tasks;
    each fit uses ``num_blocks`` user/item blocks (1 suits ~100k ratings on 2 cores);
    and each model's train and validation RMSE come from one broadcast-join prediction + one
    grouped aggregation over the union of both sets. RMSE is the seed's: the root of
    the mean squared error over the rows ``transform`` keeps (``coldStartStrategy=
    "drop"``).

    Parameters
    ----------
    train, validation
        Columns ``user_id``, ``movie_id``, ``rating`` (extra columns ignored).
    ranks, reg_params
        The grid; the seed's by default.
    max_iter, seed, num_blocks, checkpoint_interval
        Passed to :func:`fit_als` for every cell.
    parallelism
        Number of fits in flight at once (threads); 1 runs the cells one by one.
    progress
        Called (from worker threads, one at a time) with each finished cell's row as a
        dict, e.g. to print it.

    Returns
    -------
    GridSearchResult
        The table (a small local DataFrame), the best model and its figures.
    """
    cells = _grid_cells(
        train=train,
        validation=validation,
        ranks=ranks,
        reg_params=reg_params,
        max_iter=max_iter,
        parallelism=parallelism,
        num_blocks=num_blocks,
    )
    started = time.perf_counter()
    train_set = als_training_set(train).cache()
    labelled = (
        train_set.withColumn("split", sf.lit("train"))
        .unionByName(ids_and_rating(validation).withColumn("split", sf.lit("validation")))
        .coalesce(1)
        .cache()
    )
    fit_cell = functools.partial(
        _fit_cell,
        train_set=train_set,
        labelled=labelled,
        max_iter=max_iter,
        seed=seed,
        num_blocks=num_blocks,
        checkpoint_interval=checkpoint_interval,
    )
    try:
        labelled.count()  # materialise both caches once, before the threads share them
        results = _run_cells(
            cells,
            fit_cell,
            session=train.sparkSession,
            parallelism=parallelism,
            progress=progress,
        )
    finally:
        labelled.unpersist()
        train_set.unpersist()
    return _grid_result(results, session=train.sparkSession, started=started)


def _grid_cells(
    *,
    train: DataFrame,
    validation: DataFrame,
    ranks: Sequence[int],
    reg_params: Sequence[float],
    max_iter: int,
    parallelism: int,
    num_blocks: int,
) -> list[tuple[int, float]]:
    """:func:`grid_search`'s arguments checked; its (rank, reg_param) cells, rank-major."""
    require_columns(train, [USER_ID, MOVIE_ID, RATING], name="train")
    require_columns(validation, [USER_ID, MOVIE_ID, RATING], name="validation")
    ranks = list(ranks)
    reg_params = [float(r) for r in reg_params]
    if not ranks or not reg_params:
        raise ValueError("ranks and reg_params must be non-empty")
    for rank in ranks:
        check_positive_int(rank, name="every rank")
    if any(not math.isfinite(r) or r < 0 for r in reg_params):
        raise ValueError(f"reg_params must be numbers >= 0, got {reg_params}")
    check_positive_int(max_iter, name="max_iter")
    check_positive_int(parallelism, name="parallelism")
    check_positive_int(num_blocks, name="num_blocks")
    return [(rank, reg_param) for rank in ranks for reg_param in reg_params]


def _fit_cell(
    cell: tuple[int, float],
    *,
    train_set: DataFrame,
    labelled: DataFrame,
    max_iter: int,
    seed: int,
    num_blocks: int,
    checkpoint_interval: int,
) -> tuple[dict[str, Any], ALSModel]:
    """Fit one cell on ``train_set``; its grid row (RMSEs over ``labelled``'s two splits)."""
    rank, reg_param = cell
    fit_started = time.perf_counter()
    model = als.fit_als(
        train=train_set,
        rank=rank,
        reg_param=reg_param,
        max_iter=max_iter,
        seed=seed,
        num_blocks=num_blocks,
        checkpoint_interval=checkpoint_interval,
    )
    fit_seconds = time.perf_counter() - fit_started
    rmse = {
        row["split"]: row["rmse"]
        for row in regression_metrics(
            predictions=als.predict_known(model, labelled), group_cols=["split"]
        ).collect()
    }
    row = {
        "rank": rank,
        "reg_param": reg_param,
        "max_iter": max_iter,
        "validation_rmse": rmse.get("validation"),
        "train_rmse": rmse.get("train"),
        "fit_seconds": fit_seconds,
    }
    return row, model


def _run_cells(
    cells: Sequence[tuple[int, float]],
    fit_cell: Callable[[tuple[int, float]], tuple[dict[str, Any], ALSModel]],
    *,
    session: Any,
    parallelism: int,
    progress: Callable[[dict[str, Any]], None] | None,
) -> list[tuple[dict[str, Any], ALSModel]]:
    """``fit_cell`` of every cell, ``parallelism`` threads at a time, in the cells' order;
    ``progress`` gets each finished row, one call at a time."""
    lock = threading.Lock()

    def run_cell(cell: tuple[int, float]) -> tuple[dict[str, Any], ALSModel]:
        activate_in_this_thread(session)
        row, model = fit_cell(cell)
        if progress is not None:
            with lock:
                progress(dict(row))
        return row, model

    if parallelism == 1:
        return [run_cell(cell) for cell in cells]
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        return list(pool.map(run_cell, cells))


def _grid_result(
    results: Sequence[tuple[dict[str, Any], ALSModel]], *, session: Any, started: float
) -> GridSearchResult:
    """The grid table of the fitted cells and the best of them (lowest validation RMSE,
    ties to the earlier cell); ``started`` is the search's start on ``time.perf_counter``."""
    scored = [(i, row) for i, (row, _) in enumerate(results) if row["validation_rmse"] is not None]
    if not scored:
        raise ValueError("no validation rating could be scored (all users/movies cold)")
    best_index = min(scored, key=lambda item: (item[1]["validation_rmse"], item[0]))[0]
    rows = [{**row, "is_best": i == best_index} for i, (row, _) in enumerate(results)]
    table = session.createDataFrame(
        [tuple(row[c] for c in GRID_COLUMNS) for row in rows],
        schema="rank int, reg_param double, max_iter int, validation_rmse double, "
        "train_rmse double, fit_seconds double, is_best boolean",
    )
    best_row, best_model = results[best_index]
    return GridSearchResult(
        table=table,
        best_model=best_model,
        best_rank=best_row["rank"],
        best_reg_param=best_row["reg_param"],
        best_validation_rmse=best_row["validation_rmse"],
        best_train_rmse=best_row["train_rmse"],
        seconds=time.perf_counter() - started,
    )


def ranking_grid_table(
    *,
    lists: DataFrame,
    relevant: DataFrame,
    cell_columns: Sequence[str],
    k: int,
    recommender: str,
    fixed: Mapping[str, Any] | None = None,
) -> DataFrame:
    """Validation metrics of every grid cell's lists; the highest NDCG@k is ``is_best``.

    Parameters
    ----------
    lists
        ``cell_columns`` + ``user_id``, ``movie_id``, RANK: each cell's top-k lists for
        the validation users.
    relevant
        ``user_id``, ``movie_id``: the validation ratings.
    cell_columns
        The hyperparameter columns naming a cell (may be empty: one cell).
    k
        Cut-off of the metrics.
    recommender
        The recommender's name, written in every row.
    fixed
        Settings every cell shares (not tuned); written into ``params`` with the cell's.

    Returns
    -------
    DataFrame
        ``recommender``, the cell columns, ``params`` (``fixed`` and the cell as JSON), the ranking
        metrics of :func:`python_jobs.metrics.ranking_metrics`, ``k`` and ``is_best``
        (exactly one true: the highest validation ``ndcg_at_k``, ties to the first cell
        in the order of the cell columns).
    """
    cell_columns = list(cell_columns)
    require_columns(lists, [*cell_columns, USER_ID, MOVIE_ID, RANK], name="lists")
    reserved = {RECOMMENDER, PARAMS, IS_BEST, "k", *RANKING_METRIC_COLUMNS}
    clashing = sorted(reserved.intersection(cell_columns))
    if clashing:
        raise ValueError(f"cell columns {clashing} clash with the tuning table's own columns")
    check_positive_int(k, name="k")
    metrics = ranking_metrics(
        recommendations=lists, relevant=relevant, k=k, group_cols=cell_columns
    ).toPandas()
    if metrics.empty:
        raise ValueError(f"{recommender}: no grid cell produced a recommendation list")
    if cell_columns:
        metrics = metrics.sort_values(cell_columns, kind="stable").reset_index(drop=True)
    best = int(metrics["ndcg_at_k"].fillna(-1.0).to_numpy().argmax())
    cells = [{column: metrics.at[i, column] for column in cell_columns} for i in metrics.index]
    table = pd.DataFrame(
        {
            RECOMMENDER: recommender,
            **{column: metrics[column] for column in cell_columns},
            PARAMS: [
                json.dumps(_plain({**(fixed or {}), **cell}), sort_keys=True) for cell in cells
            ],
            **{column: metrics[column] for column in RANKING_METRIC_COLUMNS},
            "k": k,
            IS_BEST: [i == best for i in range(len(metrics))],
        }
    )
    types = {column: _spark_type(metrics[column]) for column in cell_columns}
    schema = ", ".join(
        [f"{RECOMMENDER} string"]
        + [f"{column} {types[column]}" for column in cell_columns]
        + [f"{PARAMS} string"]
        + [f"{column} double" for column in RANKING_METRIC_COLUMNS[:-1]]
        + ["n_users_evaluated bigint", "k int", f"{IS_BEST} boolean"]
    )
    return lists.sparkSession.createDataFrame(table, schema=schema)


def _plain(cell: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars as Python ints and floats, for JSON."""
    return {key: value.item() if hasattr(value, "item") else value for key, value in cell.items()}


def _spark_type(values: pd.Series) -> str:
    return "int" if pd.api.types.is_integer_dtype(values) else "double"
