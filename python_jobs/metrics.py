"""Rating-prediction and top-N ranking metrics, written with DataFrame operations only.

Everything here is lazy: the functions build DataFrames and trigger no Spark action, so
they run the same in a classic session and over Spark Connect.

Ranking definitions (binary relevance, cut-off ``k``), per evaluated user ``u`` with
relevant set ``R_u`` (non-empty) and recommended list ``L_u`` (ranks 1, 2, ...; only ranks
``<= k`` count; ``hit_i`` is 1 when the movie at rank ``i`` is in ``R_u``):

* ``precision@k = sum(hit_i) / k`` (a list shorter than ``k`` still divides by ``k``);
* ``recall@k = sum(hit_i) / |R_u|``;
* ``NDCG@k = DCG / IDCG`` with ``DCG = sum(hit_i / log2(i + 1))`` and ``IDCG`` the DCG
  of ``min(|R_u|, k)`` hits at ranks ``1..min(|R_u|, k)``;
* ``AP@k = sum(hit_i * precision@i) / min(|R_u|, k)`` and ``MAP@k`` its mean.

Each metric is averaged over all users that have at least one relevant movie, users with
no recommendation at all scoring 0. These match Spark's ``RankingMetrics`` (and so
``pyspark.ml.evaluation.RankingEvaluator``) ``precisionAt``, ``recallAt``, ``ndcgAt`` and
``meanAveragePrecisionAt`` with binary relevance; ``tests/python_jobs/test_metrics.py``
checks both against a plain-Python implementation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, PREDICTION, RANK, RATING, USER_ID

RANKING_METRIC_COLUMNS = (
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "map_at_k",
    "n_users_evaluated",
)


def require_columns(frame: DataFrame, columns: Sequence[str], *, name: str) -> None:
    """Raise ``ValueError`` when ``frame`` lacks any of ``columns`` (schema only, no action)."""
    if not isinstance(frame, DataFrame) and not hasattr(frame, "columns"):
        raise TypeError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {frame.columns}")


def check_positive_int(value: Any, *, name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is an int >= 1 (a bool is not an int here)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def regression_metrics(
    *,
    predictions: DataFrame,
    group_cols: Sequence[str] = (),
    label_col: str = RATING,
    prediction_col: str = PREDICTION,
) -> DataFrame:
    """RMSE and MAE of predicted ratings, optionally per group, in one aggregation.

    Parameters
    ----------
    predictions
        Rows with a label and a prediction column; rows with a null prediction are not
        expected (ALS with ``coldStartStrategy="drop"`` leaves none).
    group_cols
        Columns to group by (e.g. a ``split`` label); empty for one overall row.
    label_col, prediction_col
        Names of the true and predicted rating columns.

    Returns
    -------
    DataFrame
        ``group_cols`` + ``rmse`` (double), ``mae`` (double), ``n_predictions`` (long).
    """
    require_columns(predictions, [*group_cols, label_col, prediction_col], name="predictions")
    error = sf.col(label_col).cast("double") - sf.col(prediction_col).cast("double")
    aggregates = [
        sf.sqrt(sf.avg(error * error)).alias("rmse"),
        sf.avg(sf.abs(error)).alias("mae"),
        sf.count(sf.lit(1)).alias("n_predictions"),
    ]
    if group_cols:
        return predictions.groupBy(*group_cols).agg(*aggregates)
    return predictions.agg(*aggregates)


def ranking_metrics(
    *,
    recommendations: DataFrame,
    relevant: DataFrame,
    k: int,
    catalog: DataFrame | None = None,
    group_cols: Sequence[str] = (),
    user_col: str = USER_ID,
    item_col: str = MOVIE_ID,
    rank_col: str = RANK,
) -> DataFrame:
    """Precision, recall, NDCG and MAP at ``k`` (definitions in the module docstring).

    ``recommendations`` is read once: every metric is a sum of per-row contributions
    divided by the number of evaluated users, so one aggregation (which also counts the
    distinct recommended items for the coverage) does it all.

    Parameters
    ----------
    recommendations
        One row per recommended (user, item) with its 1-based rank; ranks above ``k`` are
        ignored, ranks must be distinct per user. Rows of users without relevant items
        count only towards the coverage.
    relevant
        One row per relevant (user, item); duplicates are ignored. Its distinct users
        are the users evaluated.
    k
        Cut-off, a positive int.
    catalog
        Optional rows with ``item_col``: adds ``catalog_coverage`` = distinct items in
        anybody's top ``k`` / distinct catalog items.
    group_cols
        Columns of ``recommendations`` naming one list set each (e.g. a recommender, or
        a tuning grid cell): one row of metrics per group, every group scored against
        the same relevant users. A group that has no row is absent.

    Returns
    -------
    DataFrame
        One row (per group, with ``group_cols`` first): ``precision_at_k``,
        ``recall_at_k``, ``ndcg_at_k``, ``map_at_k`` (double),
        ``n_users_evaluated`` (long) and, with ``catalog``, ``catalog_coverage``. With no
        relevant rows the metrics are null.
    """
    check_positive_int(k, name="k")
    metrics = _ranking_metrics(
        recommendations=recommendations,
        relevant=relevant,
        cutoffs=[k],
        catalog=catalog,
        group_cols=list(group_cols),
        user_col=user_col,
        item_col=item_col,
        rank_col=rank_col,
    )
    return metrics.drop(_CUTOFF)


def ranking_metric_curves(
    *,
    recommendations: DataFrame,
    relevant: DataFrame,
    max_k: int,
    group_cols: Sequence[str] = (),
    user_col: str = USER_ID,
    item_col: str = MOVIE_ID,
    rank_col: str = RANK,
) -> DataFrame:
    """:func:`ranking_metrics` at every ``k`` from 1 to ``max_k``, in one pass.

    A hit's contribution depends on ``k`` only through ``min(|R_u|, k)`` (NDCG's ideal
    DCG, AP's denominator) and the ``k`` of precision, so each row at rank ``r`` is
    counted once for every ``k`` in ``r..max_k`` and one aggregation per (group, ``k``)
    gives the whole curve.

    Returns
    -------
    DataFrame
        ``group_cols``, ``k`` (int) and the metrics of :func:`ranking_metrics` (without
        the coverage).
    """
    check_positive_int(max_k, name="max_k")
    if "k" in group_cols:
        raise ValueError("a group column named k clashes with the curves' own k column")
    return _ranking_metrics(
        recommendations=recommendations,
        relevant=relevant,
        cutoffs=list(range(1, max_k + 1)),
        catalog=None,
        group_cols=list(group_cols),
        user_col=user_col,
        item_col=item_col,
        rank_col=rank_col,
    ).withColumnRenamed(_CUTOFF, "k")


# The cut-off's column while the metrics are computed (renamed k in the curves).
_CUTOFF = "_cutoff"


def _ranking_metrics(
    *,
    recommendations: DataFrame,
    relevant: DataFrame,
    cutoffs: list[int],
    catalog: DataFrame | None,
    group_cols: list[str],
    user_col: str,
    item_col: str,
    rank_col: str,
) -> DataFrame:
    """The metrics at each of ``cutoffs`` (ascending), one row per group and cut-off (the
    column ``_CUTOFF``)."""
    require_columns(
        recommendations, [*group_cols, user_col, item_col, rank_col], name="recommendations"
    )
    require_columns(relevant, [user_col, item_col], name="relevant")
    if catalog is not None:
        require_columns(catalog, [item_col], name="catalog")

    max_k = cutoffs[-1]
    truth = relevant.select(user_col, item_col).distinct().withColumn("is_hit", sf.lit(1))
    per_user_truth = truth.groupBy(user_col).agg(sf.count(sf.lit(1)).alias("n_relevant"))
    n_users = per_user_truth.agg(sf.count(sf.lit(1)).alias("n_users_evaluated"))
    # IDCG for m = min(|R_u|, k) ideal hits, looked up from a max_k-long literal array.
    ideal = [sum(1.0 / math.log2(i + 1) for i in range(1, m + 1)) for m in range(1, max_k + 1)]
    cutoff = sf.col(_CUTOFF)
    cut = sf.least(sf.col("n_relevant"), cutoff).cast("int")
    ideal_dcg = sf.element_at(sf.array(*[sf.lit(v) for v in ideal]), cut)
    rank = sf.col(rank_col).cast("double")
    # The n-th hit of a user (in rank order) at rank r contributes precision@r = n / r.
    hits_so_far = (
        Window.partitionBy(*group_cols, user_col)
        .orderBy(rank_col)
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    # Each row counts at every cut-off at or above its rank.
    at_cutoffs = sf.filter(sf.array(*[sf.lit(k) for k in cutoffs]), lambda k: k >= sf.col(rank_col))
    rows = (
        recommendations.where(sf.col(rank_col) <= max_k)
        .select(*group_cols, user_col, item_col, rank_col)
        .join(truth, on=[user_col, item_col], how="left")
        .join(per_user_truth, on=user_col, how="left")
        .withColumn("hit", sf.coalesce(sf.col("is_hit"), sf.lit(0)))
        .withColumn("hit_number", sf.sum("hit").over(hits_so_far))
        .withColumn(_CUTOFF, sf.explode(at_cutoffs))
    )
    scored = sf.col("n_relevant").isNotNull() & (sf.col("hit") == 1)
    sums = [
        sf.sum(sf.when(scored, 1.0)).alias("sum_precision"),
        sf.sum(sf.when(scored, 1.0 / sf.col("n_relevant"))).alias("sum_recall"),
        sf.sum(sf.when(scored, 1.0 / sf.log2(rank + 1.0) / ideal_dcg)).alias("sum_ndcg"),
        sf.sum(sf.when(scored, sf.col("hit_number") / rank / cut)).alias("sum_ap"),
    ]
    if catalog is not None:
        sums.append(sf.count_distinct(item_col).alias("n_recommended"))
    users = sf.when(sf.col("n_users_evaluated") > 0, sf.col("n_users_evaluated"))
    metrics = [
        (sf.coalesce(sf.col("sum_precision"), sf.lit(0.0)) / users / cutoff.cast("double")).alias(
            "precision_at_k"
        ),
        (sf.coalesce(sf.col("sum_recall"), sf.lit(0.0)) / users).alias("recall_at_k"),
        (sf.coalesce(sf.col("sum_ndcg"), sf.lit(0.0)) / users).alias("ndcg_at_k"),
        (sf.coalesce(sf.col("sum_ap"), sf.lit(0.0)) / users).alias("map_at_k"),
        sf.col("n_users_evaluated"),
    ]
    result = rows.groupBy(*group_cols, _CUTOFF).agg(*sums).crossJoin(n_users)
    if catalog is not None:
        catalog_size = catalog.agg(sf.count_distinct(item_col).alias("n_catalog"))
        result = result.crossJoin(catalog_size)
        metrics.append(
            (
                sf.col("n_recommended")
                / sf.when(sf.col("n_catalog") > 0, sf.col("n_catalog").cast("double"))
            ).alias("catalog_coverage")
        )
    return result.select(*group_cols, cutoff.cast("int").alias(_CUTOFF), *metrics)


def catalog_coverage(
    *,
    recommendations: DataFrame,
    catalog: DataFrame,
    k: int,
    item_col: str = MOVIE_ID,
    rank_col: str = RANK,
) -> DataFrame:
    """Share of the catalog that appears in anybody's top ``k``.

    Parameters
    ----------
    recommendations
        Rows with ``item_col`` and ``rank_col``; ranks above ``k`` are ignored.
    catalog
        Rows with ``item_col``; its distinct items are the catalog (e.g. movies in train).
    k
        Cut-off, a positive int.

    Returns
    -------
    DataFrame
        One row: ``catalog_coverage`` = distinct recommended items / distinct catalog items
        (double; null for an empty catalog).
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    require_columns(recommendations, [item_col, rank_col], name="recommendations")
    require_columns(catalog, [item_col], name="catalog")
    recommended = recommendations.where(sf.col(rank_col) <= k).agg(
        sf.count_distinct(item_col).alias("n_recommended")
    )
    catalog_size = catalog.agg(sf.count_distinct(item_col).alias("n_catalog"))
    return recommended.crossJoin(catalog_size).select(
        (
            sf.col("n_recommended")
            / sf.when(sf.col("n_catalog") > 0, sf.col("n_catalog").cast("double"))
        ).alias("catalog_coverage")
    )
