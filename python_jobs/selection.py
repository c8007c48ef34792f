"""Which recommender the service is served from: the best mean validation NDCG over the
validation carvings, a tie within the spread going to the blend.

Every recommender (each at its tuned cell, and the blend) is scored on every validation
carving (:mod:`python_jobs.splitting`): its validation lists of that carving, cut at
``top_n``, against the carving's validation ratings (of the sampled users,
:mod:`python_jobs.scopes`). The blend's list of a carving is fused with the weights tuned on
the other carvings (:mod:`python_jobs.blend`), so its score there is held out like the
others'. The recommender with the highest mean is served, unless the blend's mean is within
the spread of the two (the larger of their standard deviations over the carvings): then the
blend, which draws on every recommender, is served. Ties of the mean go to the name first in
alphabetical order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs.columns import PURPOSE, RANK, RECOMMENDER, USER_ID
from python_jobs.metrics import ranking_metrics
from python_jobs.scopes import CARVING, VALIDATION, Scope, relevant
from python_jobs.tuning import IS_BEST, PARAMS

BLEND = "blend"
SELECTION_SCHEMA = (
    "recommender string, params string, validation_ndcg_at_k double, "
    "validation_ndcg_std double, validation_precision_at_k double, validation_carvings int, "
    "is_served boolean"
)


def served(scores: pd.DataFrame) -> str:
    """The served recommender of ``scores`` (``recommender``, ``mean``, ``std``)."""
    ordered = scores.sort_values(["mean", RECOMMENDER], ascending=[False, True])
    best = ordered.iloc[0]
    blend = scores[scores[RECOMMENDER] == BLEND]
    if best[RECOMMENDER] != BLEND and len(blend):
        blend_row = blend.iloc[0]
        spread = max(float(best["std"]), float(blend_row["std"]))
        if best["mean"] - blend_row["mean"] <= spread:
            return BLEND
    return str(best[RECOMMENDER])


def selection_table(
    *,
    splits: DataFrame,
    recommender_lists: Mapping[str, DataFrame],
    params: Mapping[str, str],
    top_n: int,
    max_users: int | None = None,
) -> DataFrame:
    """One row per recommender of ``recommender_lists`` (name -> lists table):
    ``SELECTION_SCHEMA``, ``params`` as given (JSON), the validation figures over the
    carvings and ``is_served`` (exactly one)."""
    lists = None
    for name, table in sorted(recommender_lists.items()):
        part = table.where((sf.col(PURPOSE) == VALIDATION) & (sf.col(RANK) <= top_n)).select(
            sf.lit(name).alias(RECOMMENDER), CARVING, USER_ID, "movie_id", RANK
        )
        lists = part if lists is None else lists.unionByName(part)
    carvings = sorted(
        int(row[0]) for row in lists.select(CARVING).distinct().collect() if row[0] is not None
    )
    parts = []
    for carving in carvings:
        # each carving's lists against that carving's validation ratings
        metrics = ranking_metrics(
            recommendations=lists.where(sf.col(CARVING) == carving),
            relevant=relevant(Scope(VALIDATION, carving), splits, max_users),
            k=top_n,
            group_cols=[RECOMMENDER],
        )
        parts.append(metrics.withColumn(CARVING, sf.lit(carving)))
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.unionByName(part)
    metrics = combined.toPandas()
    grouped = metrics.groupby(RECOMMENDER)
    scores = pd.DataFrame(
        {
            "mean": grouped["ndcg_at_k"].mean(),
            "std": grouped["ndcg_at_k"].std(ddof=1).fillna(0.0),
            "precision": grouped["precision_at_k"].mean(),
            "carvings": grouped[CARVING].nunique(),
        }
    ).reset_index()
    choice = served(scores)
    rows = [
        (
            row[RECOMMENDER],
            params.get(row[RECOMMENDER]),
            float(row["mean"]),
            float(row["std"]),
            float(row["precision"]),
            int(row["carvings"]),
            row[RECOMMENDER] == choice,
        )
        for _, row in scores.iterrows()
    ]
    for name, mean, std in zip(scores[RECOMMENDER], scores["mean"], scores["std"], strict=True):
        marker = " (served)" if name == choice else ""
        print(f"  {name}: validation NDCG@{top_n} {mean:.4f} ± {std:.4f}{marker}", flush=True)
    return splits.sparkSession.createDataFrame(rows, SELECTION_SCHEMA)


def best_params_json(tuning_table: DataFrame) -> str:
    """The ``params`` JSON of a tuning table's ``is_best`` row."""
    rows = tuning_table.where(sf.col(IS_BEST)).select(PARAMS).collect()
    if len(rows) != 1:
        raise ValueError(f"a tuning table must have exactly one is_best row, got {len(rows)}")
    return str(rows[0][PARAMS])


def blend_params_json(blend_tuning: DataFrame) -> str:
    """The blend's final weights (the tuning table's row without a carving), as JSON."""
    rows = blend_tuning.where(sf.col(CARVING).isNull()).select("weights").collect()
    if len(rows) != 1:
        raise ValueError(f"the blend's tuning table must have one final row, got {len(rows)}")
    return json.dumps({"weights": json.loads(rows[0][0])}, sort_keys=True)
