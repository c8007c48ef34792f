"""Train / validation / test splits of the ratings, under two protocols.

* ``seed``: the ALS seed's ``randomSplit([0.6, 0.2, 0.2], seed=0)``, which reproduces its
  split sizes and RMSE figures.
* ``stratified``: the protocol Microsoft Recommenders publishes its MovieLens benchmarks
  under: every user's ratings are shuffled (seeded) and the first ``round(share * n)`` go
  to training, the rest to test; validation is carved out of each user's training part
  the same way (its last ``validation_share``), so tuning never sees a test rating.

Validation is 10% of each user's training part, not 25%: tuning fits on train and the
test fits on train + validation, and the closer the two sizes, the better validation ranks
the recommenders as the test does (the measurement is in ``docs/benchmarks.md``).

One validation part is one draw: which recommender wins on it can flip with the draw. So the
stratified split carves validation out of each user's training part several times
(``carvings``), as disjoint segments of the same seeded order, like the folds of a k-fold
split: carving 0 is the last ``validation_share`` of the user's training part (the
``split`` column's validation), carving 1 the segment before it, and so on. Every carving
keeps the same test part. ``validation_carving`` names the carving whose validation holds a
rating (null for the test part and for training ratings no carving takes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as sf

from python_jobs import defaults
from python_jobs.columns import MOVIE_ID, RATING, SPLIT, USER_ID
from python_jobs.metrics import check_positive_int, require_columns

SPLIT_NAMES = ("train", "validation", "test")
VALIDATION_CARVING = "validation_carving"


def ids_and_rating(frame: DataFrame) -> DataFrame:
    """``user_id`` int, ``movie_id`` int, ``rating`` double, nothing else."""
    return frame.select(
        sf.col(USER_ID).cast("int").alias(USER_ID),
        sf.col(MOVIE_ID).cast("int").alias(MOVIE_ID),
        sf.col(RATING).cast("double").alias(RATING),
    )


def check_seed(seed: object, *, name: str = "seed") -> None:
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"{name} must be an int, got {seed!r}")


def random_split(
    ratings: DataFrame,
    *,
    weights: Sequence[float] = defaults.SEED_SPLIT_WEIGHTS,
    seed: int = defaults.SEED,
) -> tuple[DataFrame, ...]:
    """Split ratings reproducibly, exactly as the seed's ``randomSplit`` did.

    Spark's ``randomSplit`` sorts the rows of each partition and then samples each
    partition with ``seed + partition index``, so its result depends on partitioning.
    The seed read one CSV file, i.e. one partition; coalescing to one partition first
    makes the split a function of the row set alone (any input partitioning or order
    gives the same split), which reproduces the seed's split sizes. The price is one task
    for the sort-and-sample step: fine for millions of ratings, a bottleneck for billions.

    Parameters
    ----------
    ratings
        Columns ``user_id``, ``movie_id``, ``rating``; other columns are dropped.
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
    check_seed(seed)
    return tuple(ids_and_rating(ratings).coalesce(1).randomSplit(weights, seed=seed))


def stratified_split_table(
    ratings: DataFrame,
    *,
    train_share: float = defaults.STRATIFIED_TRAIN_SHARE,
    validation_share: float = defaults.STRATIFIED_VALIDATION_SHARE,
    seed: int = defaults.STRATIFIED_SEED,
    carvings: int = defaults.VALIDATION_CARVINGS,
) -> DataFrame:
    """Label each user's ratings train / validation / test, per user, seeded.

    Each user's ratings are put in a seeded pseudo-random order (``xxhash64(seed,
    user_id, movie_id)``, ties by movie id), so the split depends on the rating set and
    the seed alone, not on partitioning. Of a user's ``n`` ratings the first
    ``n_fit = round(train_share * n)`` are the training part and the rest is test; of
    the training part the first ``round((1 - validation_share) * n_fit)`` are train and
    the rest validation. ``round`` is half-to-even, Python's ``round`` (as in Microsoft
    Recommenders' ``python_stratified_split``). A user with one rating keeps it in train.
    With ``v`` that validation size, carving ``c`` (0 <= c < ``carvings``) is the training
    part's positions ``n_fit - (c + 1)·v + 1 .. n_fit - c·v``: carving 0 is the
    validation, the others the segments before it (a user whose training part is too short
    for a carving has no rating in it).

    Parameters
    ----------
    ratings
        Columns ``user_id``, ``movie_id``, ``rating``; one row per (user, movie).
    train_share
        Share of each user's ratings used for training, strictly between 0 and 1.
    validation_share
        Share of each user's training part held out for validation, in (0, 1).
    seed
        The shuffle's seed.
    carvings
        Validation carvings (at least 1).

    Returns
    -------
    DataFrame
        ``user_id``, ``movie_id``, ``rating``, ``split`` (carving 0's), ``validation_carving``.
    """
    require_columns(ratings, [USER_ID, MOVIE_ID, RATING], name="ratings")
    for name, value in (("train_share", train_share), ("validation_share", validation_share)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1:
            raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
    check_seed(seed)
    check_positive_int(carvings, name="carvings")
    share = sf.lit(float(train_share))
    keep = sf.lit(1.0 - float(validation_share))
    user = Window.partitionBy(USER_ID)
    order = user.orderBy(sf.xxhash64(sf.lit(seed), USER_ID, MOVIE_ID), MOVIE_ID)
    n_fit = sf.bround(share * sf.count(sf.lit(1)).over(user), 0)
    position, fitted = sf.col("position"), sf.col("n_fit")
    validation_size = fitted - sf.bround(keep * fitted, 0)
    # 0 for the last validation_size positions of the training part, 1 for those before, ...
    segment = sf.floor((fitted - position) / validation_size).cast("int")
    return (
        ids_and_rating(ratings)
        .withColumn("position", sf.row_number().over(order))
        .withColumn("n_fit", n_fit)
        .select(
            USER_ID,
            MOVIE_ID,
            RATING,
            sf.when(position <= sf.bround(keep * fitted, 0), "train")
            .when(position <= fitted, "validation")
            .otherwise("test")
            .alias(SPLIT),
            sf.when((position <= fitted) & (validation_size > 0) & (segment < carvings), segment)
            .cast("int")
            .alias(VALIDATION_CARVING),
        )
    )


def split_table(
    *,
    ratings: DataFrame,
    protocol: str = defaults.EVALUATION_PROTOCOL,
    weights: Sequence[float] = defaults.SEED_SPLIT_WEIGHTS,
    seed: int = defaults.SEED,
    train_share: float = defaults.STRATIFIED_TRAIN_SHARE,
    validation_share: float = defaults.STRATIFIED_VALIDATION_SHARE,
    stratified_seed: int = defaults.STRATIFIED_SEED,
    carvings: int = defaults.VALIDATION_CARVINGS,
) -> DataFrame:
    """Every rating with its ``split`` and ``validation_carving`` under ``protocol``
    (``stratified`` or ``seed``).

    ``weights`` and ``seed`` apply to the seed protocol (exactly three weights; its one
    validation part is carving 0), ``train_share``, ``validation_share``,
    ``stratified_seed`` and ``carvings`` to the stratified one.
    """
    if protocol == "stratified":
        return stratified_split_table(
            ratings,
            train_share=train_share,
            validation_share=validation_share,
            seed=stratified_seed,
            carvings=carvings,
        )
    if protocol != "seed":
        raise ValueError(f"protocol must be one of {defaults.PROTOCOLS}, got {protocol!r}")
    if len(weights) != len(SPLIT_NAMES):
        raise ValueError(
            f"als_split_weights needs 3 weights (train, validation, test), got {weights}"
        )
    parts = random_split(ratings, weights=weights, seed=seed)
    labelled = [
        part.withColumn(SPLIT, sf.lit(name)).withColumn(
            VALIDATION_CARVING, sf.lit(0 if name == "validation" else None).cast("int")
        )
        for part, name in zip(parts, SPLIT_NAMES, strict=True)
    ]
    return labelled[0].unionByName(labelled[1]).unionByName(labelled[2])


def splits_from_table(
    splits: DataFrame, carving: int = 0
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Train, validation and test ratings of validation carving ``carving`` from a
    :func:`split_table` table: validation is that carving's, train the rest of the
    training part (carving 0: the ``split`` column as it is)."""
    require_columns(splits, [USER_ID, MOVIE_ID, RATING, SPLIT], name="splits")
    if carving == 0:
        return tuple(  # type: ignore[return-value]
            splits.where(sf.col(SPLIT) == name).select(USER_ID, MOVIE_ID, RATING)
            for name in SPLIT_NAMES
        )
    require_columns(splits, [VALIDATION_CARVING], name="splits")
    fit = splits.where(sf.col(SPLIT) != "test")
    held = sf.coalesce(sf.col(VALIDATION_CARVING) == carving, sf.lit(False))
    return (
        fit.where(~held).select(USER_ID, MOVIE_ID, RATING),
        fit.where(held).select(USER_ID, MOVIE_ID, RATING),
        splits.where(sf.col(SPLIT) == "test").select(USER_ID, MOVIE_ID, RATING),
    )
