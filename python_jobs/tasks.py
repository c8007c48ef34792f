"""Numpy work in Spark tasks: one task a job, the job's rows handed to it as one pandas frame.

The recommenders that fit on one machine (EASE's dense inverse, item-kNN's sparse products,
the scoring of ALS factors) run inside Spark's Python workers, not in the process that
submits the job. On a cluster that process may be a laptop talking Spark Connect: it sends
the plan and receives nothing but the result's schema. Jobs run in parallel, as many at a
time as the executors have cores; each holds its own rows (a fit scope's ratings and the users
it lists, :func:`python_jobs.scopes.scope_rows`) in one worker's memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs.scopes import JOB


def run_jobs(
    rows: DataFrame,
    params: Mapping[int, Any],
    compute: Callable[[Any, pd.DataFrame], pd.DataFrame],
    schema: str,
) -> DataFrame:
    """``compute(params[job], rows of the job)`` in one Spark task per job; the results, each
    with its ``job``, as one DataFrame of ``job int`` + ``schema``.

    ``compute`` and ``params`` travel to the workers by pickling: plain functions and data,
    no Spark objects. ``compute`` gets the job's rows without the ``job`` column and returns
    a frame with ``schema``'s columns (in any order).
    """
    jobs = {int(job): value for job, value in params.items()}
    columns = [field.split()[0] for field in schema.split(",")]
    columns = [name.strip() for name in columns]

    def task(frame: pd.DataFrame) -> pd.DataFrame:
        job = int(frame[JOB].iloc[0])
        result = compute(jobs[job], frame.drop(columns=[JOB]))
        return result[columns].assign(**{JOB: job})[[JOB, *columns]]

    # An explicit partition count: adaptive execution leaves it as it is (it would merge the
    # small partitions of a few jobs into one task), and the grouping reuses the partitioning.
    # Four partitions a job make it unlikely that two jobs hash to one task.
    spread = rows.repartition(max(8, 4 * len(jobs)), sf.col(JOB))
    return spread.groupBy(JOB).applyInPandas(task, schema=f"{JOB} int, {schema}")
