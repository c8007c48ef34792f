"""Per-user top-N lists from scores, the shape every recommender's output takes."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, RANK, USER_ID


def check_positive_int(value: Any, *, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def top_n_by_score(
    frame: DataFrame, *, score_col: str, top_n: int, partition_cols: tuple[str, ...] = ()
) -> DataFrame:
    """Keep each user's ``top_n`` rows by ``score_col`` desc, ties by movie id; add RANK.

    ``partition_cols`` rank within each of their values too (e.g. a tuning grid cell).
    Spark evaluates the ``row_number() <= top_n`` filter as a per-partition group limit.
    """
    order = Window.partitionBy(*partition_cols, USER_ID).orderBy(
        sf.col(score_col).desc(), sf.col(MOVIE_ID)
    )
    return frame.withColumn(RANK, sf.row_number().over(order)).where(sf.col(RANK) <= top_n)
