"""The ranking recommenders the evaluation compares and the service may be served from.

Each is a function ``lists(fit, users, params, top_n)``: fitted on the ratings ``fit``, it
gives each of ``users`` their ``top_n`` movies not rated in ``fit`` (``user_id``,
``movie_id``, ``score``, RANK). The same function makes the validation lists of tuning
(fit on train), the test lists of the evaluation (fit on train + validation) and the
served lists (fit on every validated rating), so what is evaluated is what is served.
Item-kNN is defined in SQL (``macros/item_knn.sql``); ``item_knn_lists`` computes the same
lists (``knn_engine: numpy``), its tuning lists come from ``int_item_knn_validation_lists``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs import als, defaults, ease, item_knn, scoring
from python_jobs.columns import MOVIE_ID, RANK, SCORE, USER_ID
from python_jobs.popularity import popularity_top_n
from python_jobs.splitting import ids_and_rating

Lists = Callable[[DataFrame, DataFrame, Mapping[str, Any], int], DataFrame]
LIST_COLUMNS = (USER_ID, MOVIE_ID, SCORE, RANK)
LIST_SCHEMA = "user_id int, movie_id int, score double, recommendation_rank int"


def popularity_lists(
    fit: DataFrame, users: DataFrame, params: Mapping[str, Any], top_n: int
) -> DataFrame:
    """The most-rated movies of ``fit``; ``score`` is the number of ratings."""
    fit = ids_and_rating(fit)
    return popularity_top_n(popularity_source=fit, users=users, exclude=fit, top_n=top_n).select(
        *LIST_COLUMNS
    )


def ease_lists(
    fit: DataFrame, users: DataFrame, params: Mapping[str, Any], top_n: int
) -> DataFrame:
    """EASE with ``params['l2_lambda']`` over the ``params['max_movies']`` most-rated movies.

    The ratings' (user, movie) pairs and the users are collected to the driver, where the
    dense inverse runs (:mod:`python_jobs.ease`); the lists go back as a DataFrame.
    """
    interactions = _interactions(fit, max_movies=int(params["max_movies"]))
    weights = ease.fit_weights(interactions.matrix, float(params["l2_lambda"]))
    return _lists_frame(
        fit,
        ease.top_n(
            interactions=interactions,
            weights=weights,
            user_ids=distinct_user_ids(users),
            top_n=top_n,
        ),
    )


def implicit_als_lists(
    fit: DataFrame, users: DataFrame, params: Mapping[str, Any], top_n: int
) -> DataFrame:
    """Implicit-feedback ALS with ``params`` rank, reg_param and alpha.

    Spark MLlib fits the factors; the lists are scored on the driver in blocks of users
    (:func:`python_jobs.scoring.blocked_top_n`), ``score`` being the preference
    ``x_u · y_i``. A user the fit does not know scores 0 everywhere and so gets the
    most-rated movies.
    """
    fit = ids_and_rating(fit)
    model = als.fit_als(
        train=fit.coalesce(1),
        rank=int(params["rank"]),
        reg_param=float(params["reg_param"]),
        alpha=float(params["alpha"]),
        max_iter=int(params.get("max_iter", defaults.IMPLICIT_MAX_ITER)),
        seed=int(params.get("seed", defaults.SEED)),
        implicit=True,
    )
    interactions = _interactions(fit, max_movies=None)
    user_factors = _aligned(model.userFactors, interactions.user_ids, model.rank)
    item_factors = _aligned(model.itemFactors, interactions.movie_ids, model.rank)
    padded = np.vstack([user_factors, np.zeros((1, model.rank))])
    return _lists_frame(
        fit,
        scoring.blocked_top_n(
            interactions=interactions,
            scores=lambda rows, history: padded[rows] @ item_factors.T,
            user_ids=distinct_user_ids(users),
            top_n=top_n,
        ),
    )


def item_knn_lists(
    fit: DataFrame, users: DataFrame, params: Mapping[str, Any], top_n: int
) -> DataFrame:
    """Item-kNN with ``params`` num_neighbours and min_co_raters (the co-rater floor of a
    neighbour pair) over the movies rated by at least ``params['min_raters']`` users
    (:mod:`python_jobs.item_knn`; the SQL definition is ``macros/item_knn.sql``).

    The ratings are collected to the driver, where the neighbours and the scores are
    sparse products; ``score`` is the sum of the similarities, 0 for the most-rated movies
    that complete a short list.
    """
    started = time.monotonic()
    local = ids_and_rating(fit).toPandas()
    k, floor = int(params["num_neighbours"]), int(params["min_co_raters"])
    nearest = item_knn.neighbours(
        local, floors=[floor], max_k=k, min_co_raters=int(params["min_raters"])
    )
    lists = item_knn.top_n_lists(
        interactions=scoring.Interactions.from_pairs(local, max_movies=None),
        nearest=nearest,
        k=k,
        user_ids=distinct_user_ids(users),
        top_n=top_n,
    )
    print(
        f"item_knn k={k} min_co_raters={floor}: {len(nearest):,} neighbours, lists in "
        f"{time.monotonic() - started:.1f} s",
        flush=True,
    )
    return _lists_frame(fit, lists)


def _interactions(fit: DataFrame, *, max_movies: int | None) -> scoring.Interactions:
    """The 0/1 user x movie matrix of ``fit``'s ratings (``max_movies`` None: every movie)."""
    pairs = fit.select(
        sf.col(USER_ID).cast("int").alias(USER_ID), sf.col(MOVIE_ID).cast("int").alias(MOVIE_ID)
    ).toPandas()
    return scoring.Interactions.from_pairs(pairs, max_movies=max_movies)


def distinct_user_ids(users: DataFrame) -> np.ndarray:
    """The distinct ``user_id`` of ``users``, ascending."""
    ids = users.select(sf.col(USER_ID).cast("int").alias(USER_ID)).distinct().toPandas()
    return np.sort(ids[USER_ID].to_numpy())


def _aligned(factors: DataFrame, ids: np.ndarray, rank: int) -> np.ndarray:
    """The factor rows of ``ids`` in that order (zeros for an id without factors)."""
    local = factors.toPandas()
    matrix = np.zeros((len(ids), rank))
    if len(local):
        found = np.searchsorted(ids, local["id"].to_numpy())
        inside = (found < len(ids)) & (
            ids[np.minimum(found, len(ids) - 1)] == local["id"].to_numpy()
        )
        matrix[found[inside]] = np.stack(local["features"].to_numpy()[inside])
    return matrix


def _lists_frame(fit: DataFrame, lists: pd.DataFrame) -> DataFrame:
    return fit.sparkSession.createDataFrame(
        lists[list(LIST_COLUMNS)].astype(
            {USER_ID: "int32", MOVIE_ID: "int32", SCORE: "float64", RANK: "int32"}
        ),
        schema=LIST_SCHEMA,
    )


RECOMMENDERS: dict[str, Lists] = {
    "popularity": popularity_lists,
    "ease": ease_lists,
    "implicit_als": implicit_als_lists,
    "item_knn": item_knn_lists,
}
