"""The fit scopes of the evaluation protocol: which ratings a recommender is fitted on, and
whom it lists, for each purpose.

======================  =====================================  =============================
purpose                 fitted on                              lists
======================  =====================================  =============================
``tuning``, carving c   the training part but carving c        carving c's validation users
``validation``, c       the same                               the same
``evaluation``          the training part (train + validation)  the users with a test rating
``serving``             every validated rating                 every user who has one
======================  =====================================  =============================

``tuning`` scores every grid cell on carving 0; ``validation`` lists the chosen cell on every
carving, deep enough for the blend (:mod:`python_jobs.blend`) and for the spread of each
recommender's validation NDCG; ``evaluation`` is scored on the test part; ``serving`` is what
the service reads. :func:`scope_rows` gives the rows of many (job, scope) pairs as one
DataFrame, so that a job's rows reach one Spark task (:mod:`python_jobs.tasks`).

At scale the validation users of ``tuning`` and ``validation`` may be a sample
(``max_users``): the users with the smallest ``xxhash64(seed, user_id)``, the same for every
recommender; the evaluation and the served lists always cover everyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, PURPOSE, RATING, SPLIT, USER_ID
from python_jobs.metrics import require_columns
from python_jobs.splitting import VALIDATION_CARVING, ids_and_rating

TUNING, VALIDATION, EVALUATION, SERVING = "tuning", "validation", "evaluation", "serving"
PURPOSES = (TUNING, VALIDATION, EVALUATION, SERVING)
CARVING = "carving"
JOB = "job"
ROLE = "role"
FIT, LISTED = "fit", "listed"
# the sample of validation users is drawn with this seed
SAMPLE_SEED = 17


@dataclass(frozen=True)
class Scope:
    """One purpose's fit and listed users (``carving`` for tuning and validation)."""

    purpose: str
    carving: int | None = None

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}, got {self.purpose!r}")
        carved = self.purpose in (TUNING, VALIDATION)
        if carved != (self.carving is not None):
            raise ValueError(f"a {self.purpose} scope takes a carving only for tuning/validation")


def _held_out(carving: int) -> sf.Column:
    return sf.coalesce(sf.col(VALIDATION_CARVING) == carving, sf.lit(False))


def _sampled(users: DataFrame, max_users: int | None) -> DataFrame:
    """``users`` (one ``user_id`` column), or the ``max_users`` of them with the smallest
    seeded hash when there are more."""
    if max_users is None:
        return users
    hashed = users.withColumn("_hash", sf.xxhash64(sf.lit(SAMPLE_SEED), USER_ID))
    return hashed.orderBy("_hash", USER_ID).limit(max_users).select(USER_ID)


def fit_ratings(scope: Scope, splits: DataFrame, ratings: DataFrame) -> DataFrame:
    """``user_id``, ``movie_id``, ``rating`` the scope is fitted on."""
    if scope.purpose == SERVING:
        return ids_and_rating(ratings)
    fit = splits.where(sf.col(SPLIT) != "test")
    if scope.carving is not None:
        fit = fit.where(~_held_out(scope.carving))
    return ids_and_rating(fit)


def listed_users(
    scope: Scope, splits: DataFrame, ratings: DataFrame, max_users: int | None = None
) -> DataFrame:
    """``user_id`` of the users the scope lists (distinct)."""
    if scope.purpose == SERVING:
        users = ratings.select(USER_ID)
    elif scope.purpose == EVALUATION:
        users = splits.where(sf.col(SPLIT) == "test").select(USER_ID)
    else:
        users = splits.where(_held_out(scope.carving)).select(USER_ID)
        return _sampled(users.distinct(), max_users)
    return users.distinct()


def relevant(scope: Scope, splits: DataFrame, max_users: int | None = None) -> DataFrame:
    """``user_id``, ``movie_id`` held out for the scope: carving c's validation (of the
    sampled users when ``max_users`` is set, :func:`listed_users`), or test."""
    if scope.purpose == EVALUATION:
        return splits.where(sf.col(SPLIT) == "test").select(USER_ID, MOVIE_ID)
    if scope.purpose == SERVING:
        raise ValueError("the serving scope holds nothing out")
    held = splits.where(_held_out(scope.carving)).select(USER_ID, MOVIE_ID)
    if max_users is None:
        return held
    users = listed_users(scope, splits, splits, max_users)
    return held.join(users, on=USER_ID, how="left_semi")


def scope_rows(
    jobs: Mapping[int, Scope],
    splits: DataFrame,
    ratings: DataFrame,
    max_users: int | None = None,
) -> DataFrame:
    """Every job's rows: ``job``, ``role`` (``fit`` or ``listed``), ``user_id``,
    ``movie_id`` and ``rating`` (null for a listed user).

    Scopes shared by several jobs (grid cells) are read once and joined to their jobs.
    """
    require_columns(splits, [USER_ID, MOVIE_ID, RATING, SPLIT, VALIDATION_CARVING], name="splits")
    by_scope: dict[Scope, list[int]] = {}
    for job, scope in jobs.items():
        by_scope.setdefault(scope, []).append(int(job))
    parts = []
    for scope, numbers in by_scope.items():
        fit = fit_ratings(scope, splits, ratings).select(
            sf.lit(FIT).alias(ROLE), USER_ID, MOVIE_ID, RATING
        )
        users = listed_users(scope, splits, ratings, max_users).select(
            sf.lit(LISTED).alias(ROLE),
            USER_ID,
            sf.lit(None).cast("int").alias(MOVIE_ID),
            sf.lit(None).cast("double").alias(RATING),
        )
        rows = fit.unionByName(users)
        job_ids = sf.array(*(sf.lit(number) for number in numbers))
        parts.append(rows.select(sf.explode(job_ids).alias(JOB), ROLE, USER_ID, MOVIE_ID, RATING))
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def purpose_columns(scope: Scope) -> list[sf.Column]:
    """The ``purpose`` and ``carving`` literal columns of a scope's lists."""
    purpose = VALIDATION if scope.purpose == TUNING else scope.purpose
    return [sf.lit(purpose).alias(PURPOSE), sf.lit(scope.carving).cast("int").alias(CARVING)]
