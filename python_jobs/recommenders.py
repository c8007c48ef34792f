"""The ranking recommenders the evaluation compares and the service may be served from.

Each is a function ``lists(splits, ratings, jobs)``: for every job, a parameter cell, a fit
scope (:mod:`python_jobs.scopes`: which ratings to fit on, whom to list) and a list depth,
the listed users' movies not rated in the scope's fit, best first (``job``, ``user_id``,
``movie_id``, ``score``, RANK). The same function makes the tuning lists (every grid cell on
validation carving 0), the validation lists of the chosen cell (every carving: the spread of
its validation NDCG, and the blend's input), the test lists (fit on train + validation) and
the served lists (fit on every validated rating), so what is evaluated is what is served.

Where the work runs:

* popularity: Spark SQL;
* EASE and item-kNN: numpy and scipy in Spark tasks, one task a job (:mod:`python_jobs.tasks`);
* implicit ALS: Spark MLlib fits the factors (two fits at a time), numpy scores them in
  Spark tasks (:func:`python_jobs.als.factor_top_n`).

Item-kNN is defined in SQL (``macros/item_knn.sql``); :func:`item_knn_lists` computes the
same lists, its tuning lists come from ``int_item_knn_validation_lists``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs import als, defaults, ease, item_knn
from python_jobs.columns import MOVIE_ID, RANK, RATING, SCORE, USER_ID
from python_jobs.popularity import popularity_top_n
from python_jobs.scopes import FIT, JOB, LISTED, ROLE, Scope, fit_ratings, listed_users, scope_rows
from python_jobs.scoring import Interactions
from python_jobs.tasks import run_jobs
from python_jobs.tuning import activate_in_this_thread

LIST_COLUMNS = (USER_ID, MOVIE_ID, SCORE, RANK)
LIST_SCHEMA = "user_id int, movie_id int, score double, recommendation_rank int"


@dataclass(frozen=True)
class Job:
    """One list-making job: the recommender's parameters, its fit scope and the list depth."""

    params: Mapping[str, Any]
    scope: Scope
    depth: int


Lists = Callable[..., DataFrame]


def _split_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """A job's rows (:func:`python_jobs.scopes.scope_rows`) as its fit ratings and the
    sorted ids of the users it lists."""
    fit = frame[frame[ROLE] == FIT][[USER_ID, MOVIE_ID, RATING]]
    fit = fit.astype({USER_ID: "int64", MOVIE_ID: "int64", RATING: "float64"})
    users = np.sort(frame.loc[frame[ROLE] == LISTED, USER_ID].to_numpy(dtype=np.int64))
    return fit.reset_index(drop=True), users


def _typed(lists: pd.DataFrame) -> pd.DataFrame:
    return lists[list(LIST_COLUMNS)].astype(
        {USER_ID: "int32", MOVIE_ID: "int32", SCORE: "float64", RANK: "int32"}
    )


def ease_task(job: Job, frame: pd.DataFrame) -> pd.DataFrame:
    """EASE's lists for one job, in a Spark task: the job's ``l2_lambda`` over its
    ``max_movies`` most-rated movies (:mod:`python_jobs.ease`)."""
    fit, users = _split_frame(frame)
    interactions = Interactions.from_pairs(fit, max_movies=int(job.params["max_movies"]))
    weights = ease.fit_weights(interactions.matrix, float(job.params["l2_lambda"]))
    return _typed(
        ease.top_n(interactions=interactions, weights=weights, user_ids=users, top_n=job.depth)
    )


def item_knn_task(job: Job, frame: pd.DataFrame) -> pd.DataFrame:
    """Item-kNN's lists for one job, in a Spark task: ``num_neighbours`` and the co-rater
    floor ``min_co_raters`` over the movies rated by at least ``min_raters`` users
    (:mod:`python_jobs.item_knn`; the SQL definition is ``macros/item_knn.sql``)."""
    fit, users = _split_frame(frame)
    k, floor = int(job.params["num_neighbours"]), int(job.params["min_co_raters"])
    nearest = item_knn.neighbours(
        fit, floors=[floor], max_k=k, min_co_raters=int(job.params["min_raters"])
    )
    lists = item_knn.top_n_lists(
        interactions=Interactions.from_pairs(fit, max_movies=None),
        nearest=nearest,
        k=k,
        user_ids=users,
        top_n=job.depth,
    )
    return _typed(lists)


def item_knn_grid_task(job: Job, frame: pd.DataFrame) -> pd.DataFrame:
    """Item-kNN's tuning lists of one co-rater floor (``min_co_raters``) for every k of
    ``ks``, in a Spark task: the floor's neighbours are found once, for the largest k."""
    fit, users = _split_frame(frame)
    ks, floor = [int(k) for k in job.params["ks"]], int(job.params["min_co_raters"])
    nearest = item_knn.neighbours(
        fit, floors=[floor], max_k=max(ks), min_co_raters=int(job.params["min_raters"])
    )
    interactions = Interactions.from_pairs(fit, max_movies=None)
    frames = [
        _typed(
            item_knn.top_n_lists(
                interactions=interactions, nearest=nearest, k=k, user_ids=users, top_n=job.depth
            )
        ).assign(k=k, min_co_raters=floor)
        for k in ks
    ]
    return pd.concat(frames, ignore_index=True).astype({"k": "int32", "min_co_raters": "int32"})


def numpy_lists(task: Callable[[Job, pd.DataFrame], pd.DataFrame]) -> Lists:
    """The ``lists`` function of a recommender computed by ``task`` in Spark tasks."""

    def lists(
        splits: DataFrame,
        ratings: DataFrame,
        jobs: Mapping[int, Job],
        max_users: int | None = None,
    ) -> DataFrame:
        rows = scope_rows({n: job.scope for n, job in jobs.items()}, splits, ratings, max_users)
        return run_jobs(rows, dict(jobs), task, LIST_SCHEMA)

    return lists


def popularity_lists(
    splits: DataFrame,
    ratings: DataFrame,
    jobs: Mapping[int, Job],
    max_users: int | None = None,
) -> DataFrame:
    """The most-rated movies of each job's fit; ``score`` is the number of ratings."""
    parts = []
    for number, job in jobs.items():
        fit = fit_ratings(job.scope, splits, ratings)
        users = listed_users(job.scope, splits, ratings, max_users)
        lists = popularity_top_n(popularity_source=fit, users=users, exclude=fit, top_n=job.depth)
        parts.append(lists.select(sf.lit(number).alias(JOB), *LIST_COLUMNS))
    return _union(parts)


def implicit_als_lists(
    splits: DataFrame,
    ratings: DataFrame,
    jobs: Mapping[int, Job],
    max_users: int | None = None,
) -> DataFrame:
    """Implicit-feedback ALS with each job's ``rank``, ``reg_param`` and ``alpha``.

    Spark MLlib fits the factors of each job's scope, two fits at a time; the lists are
    scored from the factors in Spark tasks (:func:`python_jobs.als.factor_top_n`),
    ``score`` being the preference ``x_u · y_i``. A user the fit does not know scores 0
    everywhere and so gets the most-rated movies.
    """
    session = splits.sparkSession

    def fit(number: int) -> tuple[int, als.FactorJob]:
        activate_in_this_thread(session)
        job = jobs[number]
        started = time.monotonic()
        train = fit_ratings(job.scope, splits, ratings)
        model = als.fit_als(
            train=train.coalesce(1),
            rank=int(job.params["rank"]),
            reg_param=float(job.params["reg_param"]),
            alpha=float(job.params["alpha"]),
            max_iter=int(job.params.get("max_iter", defaults.IMPLICIT_MAX_ITER)),
            seed=int(job.params.get("seed", defaults.SEED)),
            implicit=True,
        )
        print(
            f"  implicit_als {dict(job.params)} on {job.scope.purpose} "
            f"{'' if job.scope.carving is None else job.scope.carving}: factors in "
            f"{time.monotonic() - started:.1f} s",
            flush=True,
        )
        users = listed_users(job.scope, splits, ratings, max_users)
        return number, als.FactorJob(model, train, users, job.depth, unknown_users="popular")

    with ThreadPoolExecutor(max_workers=2) as pool:
        fitted = dict(pool.map(fit, list(jobs)))
    return als.factor_top_n(fitted)


def item_knn_lists(
    splits: DataFrame,
    ratings: DataFrame,
    jobs: Mapping[int, Job],
    max_users: int | None = None,
) -> DataFrame:
    """Item-kNN in Spark tasks (:func:`item_knn_task`)."""
    return numpy_lists(item_knn_task)(splits, ratings, jobs, max_users)


def ease_lists(
    splits: DataFrame,
    ratings: DataFrame,
    jobs: Mapping[int, Job],
    max_users: int | None = None,
) -> DataFrame:
    """EASE in Spark tasks (:func:`ease_task`)."""
    return numpy_lists(ease_task)(splits, ratings, jobs, max_users)


def _union(parts: list[DataFrame]) -> DataFrame:
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def distinct_user_ids(users: DataFrame) -> np.ndarray:
    """The distinct ``user_id`` of ``users``, ascending."""
    ids = users.select(sf.col(USER_ID).cast("int").alias(USER_ID)).distinct().toPandas()
    return np.sort(ids[USER_ID].to_numpy())


RECOMMENDERS: dict[str, Lists] = {
    "popularity": popularity_lists,
    "ease": ease_lists,
    "implicit_als": implicit_als_lists,
    "item_knn": item_knn_lists,
}
