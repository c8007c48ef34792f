"""Explicit-rating ALS on MovieLens: split, grid search, evaluation and top-N tables.

Reproduces (and speeds up) the ALS seed, "Movie Recommender System Using PySpark"
(``shared/seeds/000_*.txt``): a 60/20/20 ``randomSplit`` with seed 0, a grid over
rank x regParam with ``maxIter=10``, ``seed=0``, ``coldStartStrategy="drop"`` and the
lowest validation RMSE winning.

Only DataFrame operations and ``pyspark.ml`` are used (no UDF, RDD or SparkContext),
so the same code runs in a classic session and over Spark Connect.

Checkpointing
-------------
ALS checkpoints its factor RDDs every ``checkpoint_interval`` iterations *only when the
Spark application has a checkpoint directory*. Set it when the session is created,
with the Spark 4 conf ``spark.checkpoint.dir`` (``spark-submit --conf
spark.checkpoint.dir=hdfs:///tmp/als-checkpoints``, the Spark Connect server's
``--conf``, or ``build_spark_session(extra_conf={"spark.checkpoint.dir": ...})``;
``python_jobs/train_als.py --checkpoint-dir`` does the latter). It is a static conf:
``spark.conf.set`` at run time does not work, and ``SparkContext.setCheckpointDir`` is
not available over Spark Connect.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, PREDICTION, RANK, RATING, TITLE, USER_ID
from python_jobs.metrics import ranking_metrics, regression_metrics, require_columns

RECOMMENDATION_SOURCE = "recommendation_source"
SEED_RANKS = (6, 8, 10, 12)
SEED_REG_PARAMS = (0.05, 0.1, 0.2, 0.4, 0.8)
GRID_COLUMNS = (
    "rank",
    "reg_param",
    "max_iter",
    "validation_rmse",
    "train_rmse",
    "fit_seconds",
    "is_best",
)
EVALUATION_COLUMNS = (
    "recommender",
    "rmse",
    "mae",
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "map_at_k",
    "catalog_coverage",
    "k",
    "n_users_evaluated",
)


def _check_positive_int(value: Any, *, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _ids_and_rating(frame: DataFrame) -> DataFrame:
    """``user_id`` int, ``movie_id`` int, ``rating`` double, nothing else."""
    return frame.select(
        sf.col(USER_ID).cast("int").alias(USER_ID),
        sf.col(MOVIE_ID).cast("int").alias(MOVIE_ID),
        sf.col(RATING).cast("double").alias(RATING),
    )


def split_ratings(
    ratings: DataFrame,
    *,
    weights: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int = 0,
) -> tuple[DataFrame, ...]:
    """Split ratings reproducibly, exactly as the seed's ``randomSplit`` did.

    Spark's ``randomSplit`` sorts the rows of each partition and then samples each
    partition with ``seed + partition index``, so its result depends on partitioning.
    The seed read one CSV file, i.e. one partition; coalescing to one partition first
    makes the split a function of the row set alone (any input partitioning or order
    gives the same split) and reproduces the seed's 60435/20052/20349 rows on
    ml-latest-small. The price is one task for the sort-and-sample step: fine for
    millions of ratings, a bottleneck for billions.

    Parameters
    ----------
    ratings
        Columns ``user_id``, ``movie_id``, ``rating`` (cast to int, int, double); other
        columns are dropped.
    weights
        Relative split sizes (normalised by Spark), at least two, all positive.
    seed
        Sampling seed.

    Returns
    -------
    tuple of DataFrame
        One DataFrame per weight, e.g. ``train, validation, test``; not cached.
    """
    require_columns(ratings, [USER_ID, MOVIE_ID, RATING], name="ratings")
    weights = [float(w) for w in weights]
    if len(weights) < 2 or any(not math.isfinite(w) or w <= 0 for w in weights):
        raise ValueError(f"weights must be >= 2 positive numbers, got {weights}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")
    return tuple(_ids_and_rating(ratings).coalesce(1).randomSplit(weights, seed=seed))


def fit_als(
    *,
    train: DataFrame,
    rank: int,
    reg_param: float,
    max_iter: int = 10,
    seed: int = 0,
    num_blocks: int = 10,
    checkpoint_interval: int = 10,
    nonnegative: bool = False,
) -> ALSModel:
    """Fit explicit-rating ALS on ``train`` with the seed's settings.

    Parameters
    ----------
    train
        Columns ``user_id`` (int), ``movie_id`` (int), ``rating``.
    rank, reg_param, max_iter, seed
        ALS ``rank``, ``regParam``, ``maxIter`` and ``seed``.
    num_blocks
        ``numUserBlocks`` and ``numItemBlocks`` (Spark's default, 10, is what the seed
        used; 1 or 2 is much faster for ~100k ratings on a couple of cores, while big
        data wants about as many blocks as cores). Block counts change the random
        initial factors, so results differ slightly with them.
    checkpoint_interval
        Checkpoint the factors every this many iterations; effective only when the
        application has a checkpoint directory (``spark.checkpoint.dir``, see the module
        docstring). ``-1`` disables it.
    nonnegative
        ALS ``nonnegative``; the seed used the default ``False``.

    Returns
    -------
    ALSModel
        With ``coldStartStrategy="drop"``: ``transform`` drops rows whose user or movie
        was not in ``train``.
    """
    require_columns(train, [USER_ID, MOVIE_ID, RATING], name="train")
    _check_positive_int(rank, name="rank")
    _check_positive_int(max_iter, name="max_iter")
    _check_positive_int(num_blocks, name="num_blocks")
    if not isinstance(reg_param, (int, float)) or isinstance(reg_param, bool) or reg_param < 0:
        raise ValueError(f"reg_param must be a number >= 0, got {reg_param!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")
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
        implicitPrefs=False,
        numUserBlocks=num_blocks,
        numItemBlocks=num_blocks,
        checkpointInterval=checkpoint_interval,
    )
    return als.fit(train)


def _activate_in_this_thread(session: Any) -> None:
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
    ranks: Sequence[int] = SEED_RANKS,
    reg_params: Sequence[float] = SEED_REG_PARAMS,
    max_iter: int = 10,
    seed: int = 0,
    parallelism: int = 2,
    num_blocks: int = 1,
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
    require_columns(train, [USER_ID, MOVIE_ID, RATING], name="train")
    require_columns(validation, [USER_ID, MOVIE_ID, RATING], name="validation")
    ranks = list(ranks)
    reg_params = [float(r) for r in reg_params]
    if not ranks or not reg_params:
        raise ValueError("ranks and reg_params must be non-empty")
    for rank in ranks:
        _check_positive_int(rank, name="every rank")
    if any(not math.isfinite(r) or r < 0 for r in reg_params):
        raise ValueError(f"reg_params must be numbers >= 0, got {reg_params}")
    _check_positive_int(max_iter, name="max_iter")
    _check_positive_int(parallelism, name="parallelism")
    _check_positive_int(num_blocks, name="num_blocks")

    started = time.perf_counter()
    train_set = _ids_and_rating(train).coalesce(1).cache()
    labelled = (
        train_set.withColumn("split", sf.lit("train"))
        .unionByName(_ids_and_rating(validation).withColumn("split", sf.lit("validation")))
        .coalesce(1)
        .cache()
    )
    lock = threading.Lock()
    session = train.sparkSession

    def run_cell(cell: tuple[int, float]) -> tuple[dict[str, Any], ALSModel]:
        _activate_in_this_thread(session)
        rank, reg_param = cell
        fit_started = time.perf_counter()
        model = fit_als(
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
                predictions=_predict_known(model, labelled), group_cols=["split"]
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
        if progress is not None:
            with lock:
                progress(dict(row))
        return row, model

    cells = [(rank, reg_param) for rank in ranks for reg_param in reg_params]
    try:
        labelled.count()  # materialise both caches once, before the threads share them
        if parallelism == 1:
            results = [run_cell(cell) for cell in cells]
        else:
            with ThreadPoolExecutor(max_workers=parallelism) as pool:
                results = list(pool.map(run_cell, cells))
    finally:
        labelled.unpersist()
        train_set.unpersist()

    scored = [(i, row) for i, (row, _) in enumerate(results) if row["validation_rmse"] is not None]
    if not scored:
        raise ValueError("no validation rating could be scored (all users/movies cold)")
    best_index = min(scored, key=lambda item: (item[1]["validation_rmse"], item[0]))[0]
    rows = [{**row, "is_best": i == best_index} for i, (row, _) in enumerate(results)]
    table = train.sparkSession.createDataFrame(
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


def _predict_known(model: ALSModel, frame: DataFrame) -> DataFrame:
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


def _top_n_by_score(frame: DataFrame, *, score_col: str, top_n: int) -> DataFrame:
    """Keep each user's ``top_n`` rows by ``score_col`` desc, ties by movie id; add RANK."""
    order = Window.partitionBy(USER_ID).orderBy(sf.col(score_col).desc(), sf.col(MOVIE_ID))
    return frame.withColumn(RANK, sf.row_number().over(order)).where(sf.col(RANK) <= top_n)


def _als_top_n(*, model: ALSModel, users: DataFrame, exclude: DataFrame, top_n: int) -> DataFrame:
    """Each of ``users`` (that the model knows) gets its ``top_n`` unexcluded movies.

    Scores every (user, trained movie) pair (the same work as ``recommendForAllUsers``):
    user factors hash-partitioned by user, item factors broadcast, so the scored pairs
    stay partitioned by user; excluded pairs are anti-joined and the per-user
    ``row_number() <= top_n`` filter is evaluated by Spark as a per-partition group
    limit. Only movies with item factors, i.e. seen in training, can come out.
    """
    user_factors, item_factors = _factors(model)
    user_factors = user_factors.join(
        users.select(USER_ID).distinct(), on=USER_ID, how="left_semi"
    ).repartition(USER_ID)
    scored = (
        user_factors.crossJoin(sf.broadcast(item_factors))
        .select(USER_ID, MOVIE_ID, _dot(model.rank).alias(PREDICTION))
        .join(exclude.select(USER_ID, MOVIE_ID), on=[USER_ID, MOVIE_ID], how="left_anti")
        .where(~sf.isnan(PREDICTION))
    )
    return _top_n_by_score(scored, score_col=PREDICTION, top_n=top_n)


def _popularity_order(popularity_source: DataFrame) -> DataFrame:
    """Movies with ``n_ratings``, mean rating as ``prediction`` and a dense
    ``popularity_rank`` (1 = most rated; ties by movie id), without a global window:
    rank = (movies with more ratings) + (position among movies with as many ratings).
    """
    movie_stats = popularity_source.groupBy(MOVIE_ID).agg(
        sf.count(sf.lit(1)).alias("n_ratings"), sf.avg(RATING).cast("double").alias(PREDICTION)
    )
    per_count = movie_stats.groupBy("n_ratings").agg(sf.count(sf.lit(1)).alias("n_movies"))
    above = (
        per_count.alias("a")
        .join(per_count.alias("b"), sf.col("b.n_ratings") > sf.col("a.n_ratings"), "left")
        .groupBy(sf.col("a.n_ratings").alias("n_ratings"))
        .agg(sf.coalesce(sf.sum("b.n_movies"), sf.lit(0)).alias("n_above"))
    )
    within = Window.partitionBy("n_ratings").orderBy(MOVIE_ID)
    return movie_stats.join(above, on="n_ratings").withColumn(
        "popularity_rank", (sf.col("n_above") + sf.row_number().over(within)).cast("int")
    )


def _popularity_top_n(
    *, popularity_source: DataFrame, users: DataFrame, exclude: DataFrame, top_n: int
) -> DataFrame:
    """Each user's ``top_n`` most-rated movies of ``popularity_source`` not in ``exclude``.

    A user with ``s`` excluded movies finds its top ``top_n`` among the first
    ``top_n + s`` movies of the popularity order, so each user is joined to just those
    (``O(ratings + users * top_n)`` rows, no cross join). ``prediction`` is the movie's
    mean rating in ``popularity_source``.
    """
    ranked_movies = _popularity_order(popularity_source)
    excluded = exclude.select(USER_ID, MOVIE_ID).distinct()
    n_excluded = excluded.groupBy(USER_ID).agg(sf.count(sf.lit(1)).alias("n_excluded"))
    candidates = (
        users.select(USER_ID)
        .distinct()
        .join(n_excluded, on=USER_ID, how="left")
        .select(
            USER_ID,
            sf.explode(
                sf.sequence(sf.lit(1), sf.lit(top_n) + sf.coalesce(sf.col("n_excluded"), sf.lit(0)))
            ).alias("popularity_rank"),
        )
        .join(ranked_movies, on="popularity_rank", how="inner")
        .join(excluded, on=[USER_ID, MOVIE_ID], how="left_anti")
    )
    order = Window.partitionBy(USER_ID).orderBy("popularity_rank")
    return (
        candidates.withColumn(RANK, sf.row_number().over(order))
        .where(sf.col(RANK) <= top_n)
        .select(USER_ID, MOVIE_ID, PREDICTION, RANK)
    )


def evaluate(
    *,
    model: ALSModel,
    train: DataFrame,
    validation: DataFrame,
    test: DataFrame,
    top_n: int = 10,
) -> DataFrame:
    """Score the ALS model and a most-popular baseline on the test set.

    Protocol: rating metrics (``rmse``, ``mae``) are ALS's predictions of the test
    ratings it can score (``coldStartStrategy="drop"``); the popularity baseline predicts
    no ratings, so they are null for it. Ranking metrics: every user with at least one
    test rating is evaluated; the candidates are all movies seen in ``train`` except the
    ones that user rated in ``train`` or ``validation``; ALS ranks them by predicted
    rating, the baseline by number of ratings in ``train`` (ties: lower movie id); the
    relevant movies are the user's test movies (whatever their rating). A user ALS cannot
    score (no train ratings) gets no ALS list and scores 0. ``precision_at_k`` = hits/k,
    ``recall_at_k`` = hits/|relevant|, ``ndcg_at_k`` with binary gains and a log2
    discount, ``map_at_k`` = mean of (sum of precision@i at hit ranks i <= k) /
    min(|relevant|, k); see :mod:`python_jobs.metrics`. ``catalog_coverage`` = distinct
    movies recommended to the evaluated users / distinct movies in ``train``.

    Explicit-rating ALS minimises rating error, not ranking error: on MovieLens it ranks
    far worse than popularity (which this table shows as it is).

    Parameters
    ----------
    model
        A fitted ALS model (e.g. ``grid_search(...).best_model``).
    train, validation, test
        The splits, columns ``user_id``, ``movie_id``, ``rating``.
    top_n
        ``k`` of the ranking metrics.

    Returns
    -------
    DataFrame
        Two rows, ``recommender`` = ``'als'`` and ``'popularity'``, with the columns of
        ``EVALUATION_COLUMNS``. Lazy: nothing runs until it is read.
    """
    for name, frame in (("train", train), ("validation", validation), ("test", test)):
        require_columns(frame, [USER_ID, MOVIE_ID, RATING], name=name)
    _check_positive_int(top_n, name="top_n")
    train = _ids_and_rating(train)
    test = _ids_and_rating(test)
    seen = train.unionByName(_ids_and_rating(validation)).select(USER_ID, MOVIE_ID)
    relevant = test.select(USER_ID, MOVIE_ID)
    test_users = relevant.select(USER_ID).distinct()
    catalog = train.select(MOVIE_ID)

    rating_errors = regression_metrics(predictions=model.transform(test)).select("rmse", "mae")
    recommenders = {
        "als": (
            _als_top_n(model=model, users=test_users, exclude=seen, top_n=top_n),
            rating_errors,
        ),
        "popularity": (
            _popularity_top_n(popularity_source=train, users=test_users, exclude=seen, top_n=top_n),
            train.sparkSession.createDataFrame([(None, None)], "rmse double, mae double"),
        ),
    }
    tables = []
    for name, (recommendations, errors) in recommenders.items():
        ranking = ranking_metrics(
            recommendations=recommendations, relevant=relevant, k=top_n, catalog=catalog
        )
        tables.append(
            errors.crossJoin(ranking).select(
                sf.lit(name).alias("recommender"),
                *EVALUATION_COLUMNS[1:-2],  # rmse .. catalog_coverage
                sf.lit(top_n).alias("k"),
                "n_users_evaluated",
            )
        )
    return tables[0].unionByName(tables[1])


def recommend_top_n(
    *,
    model: ALSModel,
    ratings: DataFrame,
    movies: DataFrame,
    top_n: int = 10,
) -> DataFrame:
    """Top-N unrated movies for every user in ``ratings``, with titles.

    Users the model knows get ALS's top ``top_n`` among the movies it was trained on,
    minus everything they rated in ``ratings`` (all splits), ranked by predicted rating
    (ties: lower movie id). Users the model does not know (all their ratings fell outside
    ``train``) get the most-rated movies of ``ratings`` they have not rated, with the
    movie's mean rating as ``prediction``. Nothing is collected to the driver; ALS
    scoring is a cross join of user and item factors, the same work as
    ``recommendForAllUsers`` without its fixed ``k``.

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
    _check_positive_int(top_n, name="top_n")
    ratings = _ids_and_rating(ratings)
    users = ratings.select(USER_ID).distinct()
    known_users = model.userFactors.select(sf.col("id").alias(USER_ID))
    cold_users = users.join(known_users, on=USER_ID, how="left_anti")
    rated = ratings.select(USER_ID, MOVIE_ID)
    als = _als_top_n(model=model, users=users, exclude=rated, top_n=top_n).withColumn(
        RECOMMENDATION_SOURCE, sf.lit("als")
    )
    popular = _popularity_top_n(
        popularity_source=ratings, users=cold_users, exclude=rated, top_n=top_n
    ).withColumn(RECOMMENDATION_SOURCE, sf.lit("popularity"))
    titles = movies.select(sf.col(MOVIE_ID).cast("int").alias(MOVIE_ID), TITLE).dropDuplicates(
        [MOVIE_ID]
    )
    return (
        als.select(USER_ID, MOVIE_ID, PREDICTION, RANK, RECOMMENDATION_SOURCE)
        .unionByName(popular.select(USER_ID, MOVIE_ID, PREDICTION, RANK, RECOMMENDATION_SOURCE))
        .join(titles, on=MOVIE_ID, how="left")
        .select(
            USER_ID,
            sf.col(RANK).cast("int").alias(RANK),
            MOVIE_ID,
            TITLE,
            sf.col(PREDICTION).cast("double").alias(PREDICTION),
            RECOMMENDATION_SOURCE,
        )
    )
