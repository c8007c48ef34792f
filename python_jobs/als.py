"""ALS matrix factorisation (Spark MLlib): fitting, scoring and top-N lists.

Two flavours. Explicit-rating ALS is the ALS seed's ("Movie Recommender System Using
PySpark", ``shared/seeds/000_*.txt``): it minimises the error of predicted star ratings
and is kept to reproduce the seed's RMSE figures, but it ranks poorly (it puts movies with
one enthusiastic rating on top). Implicit-feedback ALS (``implicit=True``, Hu, Koren and
Volinsky 2008) treats every rating as a sign of interest with confidence
``1 + alpha * rating`` and ranks well; it is tuned for ranking (:mod:`python_jobs.tuning`).

Only DataFrame operations and ``pyspark.ml`` are used (no UDF, RDD or SparkContext),
so the same code runs in a classic session and over Spark Connect.

Checkpointing
-------------
ALS checkpoints its factor RDDs every ``checkpoint_interval`` iterations *only when the
Spark application has a checkpoint directory*. Set it when the session is created,
with the Spark 4 conf ``spark.checkpoint.dir`` (``spark-submit --conf
spark.checkpoint.dir=hdfs:///tmp/als-checkpoints``, the Spark Connect server's
``--conf``, or ``build_spark_session(extra_conf={"spark.checkpoint.dir": ...})``;
``python_jobs/tools/train_als.py --checkpoint-dir`` does the latter). It is a static conf:
``spark.conf.set`` at run time does not work, and ``SparkContext.setCheckpointDir`` is
not available over Spark Connect.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf

from python_jobs import defaults
from python_jobs.columns import MOVIE_ID, PREDICTION, RANK, RATING, SCORE, TITLE, USER_ID
from python_jobs.metrics import check_positive_int, require_columns
from python_jobs.popularity import popularity_top_n
from python_jobs.scoring import Interactions, blocked_top_n
from python_jobs.splitting import check_seed, ids_and_rating
from python_jobs.tasks import run_jobs

RECOMMENDATION_SOURCE = "recommendation_source"


def fit_als(
    *,
    train: DataFrame,
    rank: int,
    reg_param: float,
    max_iter: int = defaults.ALS_MAX_ITER,
    seed: int = defaults.SEED,
    num_blocks: int = defaults.ALS_NUM_BLOCKS,
    checkpoint_interval: int = 10,
    nonnegative: bool = False,
    implicit: bool = False,
    alpha: float = 1.0,
) -> ALSModel:
    """Fit ALS on ``train``: explicit ratings (the seed's settings) or implicit feedback.

    Parameters
    ----------
    train
        Columns ``user_id`` (int), ``movie_id`` (int), ``rating``.
    rank, reg_param, max_iter, seed
        ALS ``rank``, ``regParam``, ``maxIter`` and ``seed``.
    num_blocks
        ``numUserBlocks`` and ``numItemBlocks`` (Spark's default is 10; 1 or 2 is much
        faster for ~100k ratings on a couple of cores, while big data wants about as many
        blocks as cores). Block counts change the random initial factors, so a refit
        must use the blocks of the fit it repeats.
    checkpoint_interval
        Checkpoint the factors every this many iterations; effective only when the
        application has a checkpoint directory (``spark.checkpoint.dir``, see the module
        docstring). ``-1`` disables it.
    nonnegative
        ALS ``nonnegative``; the seed used the default ``False``.
    implicit, alpha
        ALS ``implicitPrefs`` and ``alpha``: with ``implicit``, a rating ``r`` is an
        observed preference with confidence ``1 + alpha * r``.

    Returns
    -------
    ALSModel
        With ``coldStartStrategy="drop"``: ``transform`` drops rows whose user or movie
        was not in ``train``.
    """
    require_columns(train, [USER_ID, MOVIE_ID, RATING], name="train")
    check_positive_int(rank, name="rank")
    check_positive_int(max_iter, name="max_iter")
    check_positive_int(num_blocks, name="num_blocks")
    for name, value in (("reg_param", reg_param), ("alpha", alpha)):
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    check_seed(seed)
    if not isinstance(checkpoint_interval, int) or not (
        checkpoint_interval == -1 or checkpoint_interval >= 1
    ):
        raise ValueError(f"checkpoint_interval must be -1 or >= 1, got {checkpoint_interval!r}")
    als = ALS(
        rank=rank,
        maxIter=max_iter,
        regParam=float(reg_param),
        seed=seed,
        userCol=USER_ID,
        itemCol=MOVIE_ID,
        ratingCol=RATING,
        coldStartStrategy="drop",
        nonnegative=nonnegative,
        implicitPrefs=implicit,
        alpha=float(alpha),
        numUserBlocks=num_blocks,
        numItemBlocks=num_blocks,
        checkpointInterval=checkpoint_interval,
    )
    return als.fit(train)


def _dot(rank: int) -> Column:
    """Dot product of the ``user_features`` and ``item_features`` arrays, unrolled.

    Plain column arithmetic (code-generated, no UDF); accumulates in float like
    ``ALSModel.transform`` and returns a double.
    """
    total = sf.col("user_features")[0] * sf.col("item_features")[0]
    for i in range(1, rank):
        total = total + sf.col("user_features")[i] * sf.col("item_features")[i]
    return total.cast("double")


def _factors(model: ALSModel) -> tuple[DataFrame, DataFrame]:
    """The model's (``user_id``, ``user_features``) and (``movie_id``, ``item_features``)."""
    users = model.userFactors.select(
        sf.col("id").alias(USER_ID), sf.col("features").alias("user_features")
    )
    items = model.itemFactors.select(
        sf.col("id").alias(MOVIE_ID), sf.col("features").alias("item_features")
    )
    return users, items


def predict_known(model: ALSModel, frame: DataFrame) -> DataFrame:
    """``frame`` rows whose user and movie the model knows, with ``prediction``.

    The same rows and values as ``model.transform`` with ``coldStartStrategy="drop"``,
    but joining broadcast factor tables (no shuffle of ``frame``): meant for the grid
    search, where the factor tables of one fit are small.
    """
    users, items = _factors(model)
    return (
        frame.join(sf.broadcast(users), on=USER_ID, how="inner")
        .join(sf.broadcast(items), on=MOVIE_ID, how="inner")
        .withColumn(PREDICTION, _dot(model.rank))
        .drop("user_features", "item_features")
    )


@dataclass(frozen=True)
class FactorJob:
    """One list-making job of a fitted model (:func:`factor_top_n`).

    Attributes
    ----------
    model
        The fitted ALS model: its movies are the candidates.
    seen
        ``user_id``, ``movie_id`` of the fit: a user's are excluded from their list, and
        the movies' counts order equal scores (most-rated first) when ``unknown_users`` is
        ``"popular"``.
    users
        ``user_id`` of the users to list.
    depth
        List length.
    unknown_users
        ``"popular"``: a user without factors scores 0 everywhere and gets the most-rated
        movies, equal scores going to the more-rated movie, then the lower id; ``"skip"``:
        such a user gets no list, equal scores go to the lower movie id.
    """

    model: ALSModel
    seen: DataFrame
    users: DataFrame
    depth: int
    unknown_users: str = "skip"


FACTOR_ROWS = (
    "job int, role string, user_id int, movie_id int, n_ratings bigint, features array<double>"
)
FACTOR_LIST_SCHEMA = "user_id int, movie_id int, score double, recommendation_rank int"


def _factor_rows(number: int, job: FactorJob) -> DataFrame:
    """A job's rows for :func:`_factor_task`: the movies' factors and counts, the listed
    users and their factors, and what they saw."""
    listed = job.users.select(sf.col(USER_ID).cast("int").alias(USER_ID)).distinct()
    seen = job.seen.select(
        sf.col(USER_ID).cast("int").alias(USER_ID), sf.col(MOVIE_ID).cast("int").alias(MOVIE_ID)
    )
    counts = seen.groupBy(MOVIE_ID).agg(sf.count(sf.lit(1)).alias("n_ratings"))
    features = sf.col("features").cast("array<double>").alias("features")
    null_int, null_long = sf.lit(None).cast("int"), sf.lit(None).cast("bigint")
    null_features = sf.lit(None).cast("array<double>").alias("features")
    items = job.model.itemFactors.select(sf.col("id").alias(MOVIE_ID), features).join(
        counts, on=MOVIE_ID, how="left"
    )
    users = job.model.userFactors.select(sf.col("id").alias(USER_ID), features).join(
        listed, on=USER_ID, how="left_semi"
    )
    parts = [
        items.select(sf.lit("item").alias("role"), null_int.alias(USER_ID), MOVIE_ID,
                     "n_ratings", "features"),
        users.select(sf.lit("user").alias("role"), USER_ID, null_int.alias(MOVIE_ID),
                     null_long.alias("n_ratings"), "features"),
        listed.select(sf.lit("listed").alias("role"), USER_ID, null_int.alias(MOVIE_ID),
                      null_long.alias("n_ratings"), null_features),
        seen.join(listed, on=USER_ID, how="left_semi").select(
            sf.lit("seen").alias("role"), USER_ID, MOVIE_ID, null_long.alias("n_ratings"),
            null_features,
        ),
    ]  # fmt: skip
    rows = parts[0]
    for part in parts[1:]:
        rows = rows.unionByName(part)
    return rows.select(sf.lit(number).alias("job"), *rows.columns)


def _factor_task(params: tuple[int, str], frame: pd.DataFrame) -> pd.DataFrame:
    """One job's lists from its rows (:func:`_factor_rows`), scored in numpy a block of users
    at a time (:func:`python_jobs.scoring.blocked_top_n`)."""
    depth, unknown_users = params
    items = frame[frame["role"] == "item"].sort_values(MOVIE_ID)
    if items.empty:
        return pd.DataFrame({USER_ID: [], MOVIE_ID: [], SCORE: [], RANK: []}).astype(
            {USER_ID: "int32", MOVIE_ID: "int32", SCORE: "float64", RANK: "int32"}
        )
    movie_ids = items[MOVIE_ID].to_numpy(dtype=np.int64)
    rank = len(items["features"].iloc[0]) if len(items) else 0
    item_matrix = np.asarray(items["features"].tolist(), dtype=np.float64).reshape(-1, rank)
    listed = np.unique(frame.loc[frame["role"] == "listed", USER_ID].to_numpy(dtype=np.int64))
    known = frame[frame["role"] == "user"]
    user_matrix = np.zeros((len(listed) + 1, rank))  # the last row: a user not in `listed`
    where = np.searchsorted(listed, known[USER_ID].to_numpy(dtype=np.int64))
    if len(known):
        user_matrix[where] = np.asarray(known["features"].tolist(), dtype=np.float64)
    if unknown_users == "skip":
        listed_users = np.sort(known[USER_ID].to_numpy(dtype=np.int64))
        tie_order = np.arange(len(movie_ids))  # equal scores: the lower movie id
    else:
        listed_users, tie_order = listed, None  # equal scores: the more-rated movie
    seen = frame[frame["role"] == "seen"]
    rows = np.searchsorted(listed, seen[USER_ID].to_numpy(dtype=np.int64))
    cols = np.searchsorted(movie_ids, seen[MOVIE_ID].to_numpy(dtype=np.int64))
    inside = cols < len(movie_ids)
    inside[inside] = movie_ids[cols[inside]] == seen[MOVIE_ID].to_numpy(dtype=np.int64)[inside]
    interactions = Interactions(
        user_ids=listed,
        movie_ids=movie_ids,
        movie_counts=items["n_ratings"].fillna(0).to_numpy(dtype=np.int64),
        matrix=scipy.sparse.csr_matrix(
            (np.ones(int(inside.sum())), (rows[inside], cols[inside])),
            shape=(len(listed), len(movie_ids)),
        ),
    )

    def scores(user_rows: np.ndarray, history: scipy.sparse.csr_matrix) -> np.ndarray:
        block = user_matrix[user_rows] @ item_matrix.T
        return np.where(np.isnan(block), -np.inf, block)

    lists = blocked_top_n(
        interactions=interactions,
        scores=scores,
        user_ids=listed_users,
        top_n=depth,
        tie_order=tie_order,
    )
    return lists.astype({USER_ID: "int32", MOVIE_ID: "int32", SCORE: "float64", RANK: "int32"})


def factor_top_n(jobs: Mapping[int, FactorJob]) -> DataFrame:
    """Every job's lists from its model's factors, one Spark task a job (``job`` and
    ``FACTOR_LIST_SCHEMA``; ``score`` is the factors' dot product, in float64).

    Scores every (listed user, candidate movie) pair, the same work as
    ``recommendForAllUsers``, in numpy blocks of users inside the task: the factors, the
    users' seen pairs and the lists are small, and a Spark cross join of the same pairs costs
    far more (docs/benchmarks.md). Only movies with item factors can come out; a user with
    fewer candidates than the depth gets a shorter list.
    """
    numbers = list(jobs)
    rows = _factor_rows(numbers[0], jobs[numbers[0]])
    for number in numbers[1:]:
        rows = rows.unionByName(_factor_rows(number, jobs[number]))
    params = {number: (int(job.depth), job.unknown_users) for number, job in jobs.items()}
    return run_jobs(rows, params, _factor_task, FACTOR_LIST_SCHEMA)


def als_top_n(*, model: ALSModel, users: DataFrame, exclude: DataFrame, top_n: int) -> DataFrame:
    """Each of ``users`` (that the model knows) gets its ``top_n`` unexcluded movies, ranked
    by prediction (the factors' dot product, in float64), ties by lower movie id
    (:func:`factor_top_n`, in a Spark task).

    Returns ``user_id``, ``movie_id``, ``prediction`` and RANK (1..top_n).
    """
    check_positive_int(top_n, name="top_n")
    job = FactorJob(model=model, seen=exclude, users=users, depth=top_n, unknown_users="skip")
    return factor_top_n({0: job}).select(USER_ID, MOVIE_ID, sf.col(SCORE).alias(PREDICTION), RANK)


def top_n_with_fallback(
    *,
    model: ALSModel,
    popularity_source: DataFrame,
    users: DataFrame,
    exclude: DataFrame,
    top_n: int,
) -> DataFrame:
    """ALS's ``top_n`` for the ``users`` the model knows, popularity's for the others.

    Users the model does not know (no rating in its training data) get the most-rated
    movies of ``popularity_source`` they have not rated, with the movie's mean rating as
    ``prediction``, so every user gets a list.

    Returns
    -------
    DataFrame
        ``user_id``, ``movie_id``, ``prediction``, RANK and ``recommendation_source``
        (``'als'`` or ``'popularity'``).
    """
    check_positive_int(top_n, name="top_n")
    users = users.select(USER_ID).distinct()
    known_users = model.userFactors.select(sf.col("id").alias(USER_ID))
    cold_users = users.join(known_users, on=USER_ID, how="left_anti")
    columns = [USER_ID, MOVIE_ID, PREDICTION, RANK, RECOMMENDATION_SOURCE]
    als = als_top_n(model=model, users=users, exclude=exclude, top_n=top_n).withColumn(
        RECOMMENDATION_SOURCE, sf.lit("als")
    )
    popular = popularity_top_n(
        popularity_source=popularity_source, users=cold_users, exclude=exclude, top_n=top_n
    ).withColumn(RECOMMENDATION_SOURCE, sf.lit("popularity"))
    return als.select(*columns).unionByName(popular.select(*columns))


def recommend_top_n(
    *,
    model: ALSModel,
    ratings: DataFrame,
    movies: DataFrame,
    top_n: int = defaults.TOP_N,
) -> DataFrame:
    """The seed's recommendations: top-N unrated movies for every user, with titles.

    Users the model knows get ALS's top ``top_n`` among the movies it was trained on,
    minus everything they rated in ``ratings`` (all splits), ranked by predicted rating
    (ties: lower movie id); the others get popularity's (:func:`top_n_with_fallback`).
    Nothing is collected to the driver; ALS scoring is a cross join of user and item
    factors, the same work as ``recommendForAllUsers`` without its fixed ``k``.

    Parameters
    ----------
    model
        A fitted ALS model.
    ratings
        Every known rating: ``user_id``, ``movie_id``, ``rating``.
    movies
        ``movie_id``, ``title``; movies missing here keep a null title.
    top_n
        Recommendations per user (a user with fewer unrated movies gets fewer).

    Returns
    -------
    DataFrame
        ``user_id`` int, ``recommendation_rank`` int (1..top_n), ``movie_id`` int,
        ``title`` string, ``prediction`` double (never null or NaN),
        ``recommendation_source`` string (``'als'`` or ``'popularity'``).
    """
    require_columns(ratings, [USER_ID, MOVIE_ID, RATING], name="ratings")
    require_columns(movies, [MOVIE_ID, TITLE], name="movies")
    ratings = ids_and_rating(ratings)
    lists = top_n_with_fallback(
        model=model,
        popularity_source=ratings,
        users=ratings,
        exclude=ratings.select(USER_ID, MOVIE_ID),
        top_n=top_n,
    )
    titles = movies.select(sf.col(MOVIE_ID).cast("int").alias(MOVIE_ID), TITLE).dropDuplicates(
        [MOVIE_ID]
    )
    return lists.join(titles, on=MOVIE_ID, how="left").select(
        USER_ID,
        sf.col(RANK).cast("int").alias(RANK),
        MOVIE_ID,
        TITLE,
        sf.col(PREDICTION).cast("double").alias(PREDICTION),
        RECOMMENDATION_SOURCE,
    )
