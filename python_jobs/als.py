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

import numpy as np
import pandas as pd
import scipy.sparse
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf

from python_jobs import defaults
from python_jobs.columns import MOVIE_ID, PREDICTION, RANK, RATING, TITLE, USER_ID
from python_jobs.metrics import check_positive_int, require_columns
from python_jobs.popularity import popularity_top_n
from python_jobs.scoring import SCORE_BLOCK_USERS, top_columns
from python_jobs.splitting import check_seed, ids_and_rating

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


def als_top_n(*, model: ALSModel, users: DataFrame, exclude: DataFrame, top_n: int) -> DataFrame:
    """Each of ``users`` (that the model knows) gets its ``top_n`` unexcluded movies.

    Scores every (user, trained movie) pair, the same work as ``recommendForAllUsers``, on
    the driver in numpy blocks of ``SCORE_BLOCK_USERS`` users: the factors, the users'
    excluded pairs and the lists are small, and a Spark cross join of the same pairs costs
    far more (docs/benchmarks.md, python_jobs/scoring.py). Ranked by prediction
    (the factors' dot product, in float64), ties by lower movie id. Only movies with item
    factors, i.e. seen in training, can come out; a user with fewer candidates than
    ``top_n`` gets a shorter list.

    Returns ``user_id``, ``movie_id``, ``prediction`` and RANK (1..top_n).
    """
    user_factors, item_factors = _factors(model)
    wanted = users.select(USER_ID).distinct()
    known = user_factors.join(wanted, on=USER_ID, how="left_semi").toPandas()
    known = known.sort_values(USER_ID, ignore_index=True)
    items = item_factors.toPandas().sort_values(MOVIE_ID, ignore_index=True)
    user_ids = known[USER_ID].to_numpy()
    movie_ids = items[MOVIE_ID].to_numpy()
    rank = model.rank
    user_matrix = np.asarray(known["user_features"].tolist(), dtype=np.float64).reshape(-1, rank)
    item_matrix = np.asarray(items["item_features"].tolist(), dtype=np.float64).reshape(-1, rank)
    excluded = (
        exclude.select(USER_ID, MOVIE_ID).join(wanted, on=USER_ID, how="left_semi").toPandas()
    )
    rows = pd.Index(user_ids).get_indexer(excluded[USER_ID])
    cols = pd.Index(movie_ids).get_indexer(excluded[MOVIE_ID])
    inside = (rows >= 0) & (cols >= 0)  # a movie without item factors is no candidate
    mask = scipy.sparse.csr_matrix(
        (np.ones(int(inside.sum()), dtype=bool), (rows[inside], cols[inside])),
        shape=(len(user_ids), len(movie_ids)),
    )
    depth = min(top_n, len(movie_ids))
    frames = []
    for start in range(0, len(user_ids), SCORE_BLOCK_USERS):
        block = slice(start, start + SCORE_BLOCK_USERS)
        scores = user_matrix[block] @ item_matrix.T
        scores[mask[block].toarray() | np.isnan(scores)] = -np.inf
        # columns ascend by movie id: ties go to the lower column, the lower id
        columns = top_columns(scores, depth)
        chosen = np.take_along_axis(scores, columns, axis=1)
        keep = np.isfinite(chosen).ravel()
        frames.append(
            pd.DataFrame(
                {
                    USER_ID: np.repeat(user_ids[block], depth)[keep],
                    MOVIE_ID: movie_ids[columns].ravel()[keep],
                    PREDICTION: chosen.ravel()[keep],
                    RANK: np.tile(np.arange(1, depth + 1), len(chosen))[keep],
                }
            )
        )
    lists = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({USER_ID: [], MOVIE_ID: [], PREDICTION: [], RANK: []})
    )
    return users.sparkSession.createDataFrame(
        lists.astype({USER_ID: "int32", MOVIE_ID: "int32", PREDICTION: "float64", RANK: "int32"}),
        f"{USER_ID} int, {MOVIE_ID} int, {PREDICTION} double, {RANK} int",
    )


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
