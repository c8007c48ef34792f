"""One evaluation table: every recommender scored on the test split, the same way.

Protocol (per :mod:`python_jobs.splitting`): each ranking recommender is tuned on the
validation split, refitted on train + validation, and gives every user with a test rating
a list of ``k`` movies they did not rate in train or validation; the relevant movies are
the user's test movies, whatever their rating. The metrics are those of
:mod:`python_jobs.metrics`, as Microsoft Recommenders and Spark's ``RankingMetrics``
define them. The ALS seed's explicit model is scored as the seed fitted it (on train
only), with its rating errors.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as sf

from python_jobs import als, beyond_accuracy
from python_jobs.columns import MOVIE_ID, PURPOSE, RANK, RECOMMENDER, USER_ID
from python_jobs.metrics import (
    RANKING_METRIC_COLUMNS,
    check_positive_int,
    ranking_metric_curves,
    ranking_metrics,
    regression_metrics,
)
from python_jobs.splitting import splits_from_table

EVALUATION_COLUMNS = (
    "recommender",
    "rmse",
    "mae",
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "map_at_k",
    "catalog_coverage",
    "novelty",
    "intra_list_diversity",
    "serendipity",
    "precision_at_k_lightest",
    "precision_at_k_heaviest",
    "k",
    "n_users_evaluated",
    "params",
    "validation_ndcg_at_k",
    "validation_ndcg_std",
    "validation_carvings",
    "is_served",
)
GENRE = "genre"
EXPLICIT_ALS = "als"


def evaluation_table(
    *,
    splits: DataFrame,
    als_model: ALSModel,
    recommender_lists: Mapping[str, DataFrame],
    selection: DataFrame,
    top_n: int,
    als_lists: DataFrame | None = None,
    movies: DataFrame | None = None,
) -> DataFrame:
    """Score every recommender on the test split.

    Parameters
    ----------
    splits
        The split table (``user_id``, ``movie_id``, ``rating``, ``split``).
    als_model
        The ALS seed's explicit model (fitted on train): its rating errors, and its test
        lists unless ``als_lists`` holds them.
    recommender_lists
        Recommender name -> its lists table (``purpose``, ``user_id``, ``movie_id``,
        RANK); the ``evaluation`` rows are scored.
    selection
        ``recommender``, ``params``, ``validation_ndcg_at_k``, ``validation_ndcg_std``,
        ``validation_carvings``, ``is_served``: the tuned recommenders' chosen cells and
        their validation figures (:mod:`python_jobs.selection`; the explicit ALS row gets
        its grid's cell elsewhere).
    top_n
        ``k`` of the metrics.
    als_lists
        The model's :func:`als_test_lists`, at least ``top_n`` deep (computed when None).
    movies
        ``movie_id``, ``genres`` (an array): the genres the intra-list diversity and the
        serendipity compare movies by (:mod:`python_jobs.beyond_accuracy`); without it
        they compare them by co-occurrence in train + validation.

    Returns
    -------
    DataFrame
        One row per recommender with the columns of ``EVALUATION_COLUMNS``. Rating
        errors (``rmse``, ``mae``) are null for recommenders that predict no rating. The
        beyond-accuracy metrics are Microsoft Recommenders' (:mod:`python_jobs.
        beyond_accuracy`), over the same test lists at ``top_n``, with train + validation
        as the history.
    """
    check_positive_int(top_n, name="top_n")
    if als_lists is None:
        # scored once: the metrics below read the lists in several plans
        als_lists = als_test_lists(splits=splits, als_model=als_model, depth=top_n)
        als_lists = als_lists.localCheckpoint()
    lists, relevant, seen = _test_lists(splits, als_lists, recommender_lists, depth=top_n)
    ranking = ranking_metrics(
        recommendations=lists,
        relevant=relevant,
        k=top_n,
        catalog=seen.select(MOVIE_ID),
        group_cols=[RECOMMENDER],
    )
    _, _, test = splits_from_table(splits)
    errors = regression_metrics(predictions=als_model.transform(test)).select(
        sf.lit(EXPLICIT_ALS).alias(RECOMMENDER), "rmse", "mae"
    )
    chosen = selection.select(
        RECOMMENDER,
        "params",
        "validation_ndcg_at_k",
        "validation_ndcg_std",
        "validation_carvings",
        "is_served",
    )
    beyond = _beyond_accuracy(lists, relevant, seen, top_n, movies)
    return (
        ranking.join(errors, on=RECOMMENDER, how="left")
        .join(beyond, on=RECOMMENDER, how="left")
        .join(chosen, on=RECOMMENDER, how="left")
        .select(
            RECOMMENDER,
            "rmse",
            "mae",
            *RANKING_METRIC_COLUMNS[:-1],
            "catalog_coverage",
            "novelty",
            "intra_list_diversity",
            "serendipity",
            "precision_at_k_lightest",
            "precision_at_k_heaviest",
            sf.lit(top_n).alias("k"),
            "n_users_evaluated",
            "params",
            "validation_ndcg_at_k",
            "validation_ndcg_std",
            sf.col("validation_carvings").cast("int").alias("validation_carvings"),
            sf.coalesce(sf.col("is_served"), sf.lit(False)).alias("is_served"),
        )
    )


def _beyond_accuracy(
    lists: DataFrame,
    relevant: DataFrame,
    seen: DataFrame,
    top_n: int,
    movies: DataFrame | None,
) -> DataFrame:
    """Novelty, intra-list diversity, serendipity and precision by activity of every
    recommender's test lists (one row each)."""
    features = None
    if movies is not None:
        features = movies.select(MOVIE_ID, sf.explode("genres").alias(GENRE))
    group = [RECOMMENDER]
    kwargs = {"recommendations": lists, "k": top_n, "group_cols": group}
    parts = [
        beyond_accuracy.novelty(train=seen, **kwargs),
        beyond_accuracy.intra_list_diversity(
            item_features=features,
            train=None if features is not None else seen,
            feature_col=GENRE,
            **kwargs,
        ),
        beyond_accuracy.serendipity(
            train=seen, relevant=relevant, item_features=features, feature_col=GENRE, **kwargs
        ),
        beyond_accuracy.precision_by_activity(relevant=relevant, train=seen, **kwargs),
    ]
    result = parts[0].select(RECOMMENDER, "novelty")
    result = result.join(parts[1].select(RECOMMENDER, "intra_list_diversity"), on=RECOMMENDER)
    result = result.join(parts[2].select(RECOMMENDER, "serendipity"), on=RECOMMENDER)
    return result.join(
        parts[3].select(RECOMMENDER, "precision_at_k_lightest", "precision_at_k_heaviest"),
        on=RECOMMENDER,
    )


def metric_curves(
    *,
    splits: DataFrame,
    als_lists: DataFrame,
    recommender_lists: Mapping[str, DataFrame],
    max_k: int,
) -> DataFrame:
    """Precision, recall, NDCG and MAP at every k from 1 to ``max_k``, per recommender.

    The same lists and protocol as :func:`evaluation_table`, the ALS seed's model's from
    ``als_lists`` (:func:`als_test_lists`); the lists must be at least ``max_k`` deep for
    the curves to mean what they say.

    Returns
    -------
    DataFrame
        ``recommender``, ``k`` and the ranking metrics at that k.
    """
    check_positive_int(max_k, name="max_k")
    lists, relevant, _ = _test_lists(splits, als_lists, recommender_lists, depth=max_k)
    return ranking_metric_curves(
        recommendations=lists, relevant=relevant, max_k=max_k, group_cols=[RECOMMENDER]
    ).select(RECOMMENDER, "k", *RANKING_METRIC_COLUMNS[:-1])


def als_test_lists(*, splits: DataFrame, als_model: ALSModel, depth: int) -> DataFrame:
    """The ALS seed's model's test-time lists: every user with a test rating gets the
    ``depth`` movies with the highest predicted rating that they did not rate in train or
    validation (:func:`python_jobs.als.als_top_n`; ``user_id``, ``movie_id``,
    ``prediction``, RANK). The first k of a list are the list of k, so one table serves the
    evaluation at ``top_n`` and the curves to ``metric_curve_max_k``."""
    check_positive_int(depth, name="depth")
    train, validation, test = splits_from_table(splits)
    return als.als_top_n(
        model=als_model,
        users=test.select(USER_ID).distinct(),
        exclude=train.unionByName(validation).select(USER_ID, MOVIE_ID),
        top_n=depth,
    )


def _test_lists(
    splits: DataFrame,
    als_lists: DataFrame,
    recommender_lists: Mapping[str, DataFrame],
    *,
    depth: int,
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Every recommender's test lists (``recommender``, ``user_id``, ``movie_id``, RANK; the
    ALS model's cut at ``depth``, the metrics read no rank beyond their k), the relevant test
    pairs, and the train + validation ratings the lists exclude."""
    train, validation, test = splits_from_table(splits)
    seen = train.unionByName(validation)
    relevant = test.select(USER_ID, MOVIE_ID)
    lists = als_lists.where(sf.col(RANK) <= depth).select(
        sf.lit(EXPLICIT_ALS).alias(RECOMMENDER), USER_ID, MOVIE_ID, RANK
    )
    for name, table in recommender_lists.items():
        lists = lists.unionByName(
            table.where(sf.col(PURPOSE) == "evaluation").select(
                sf.lit(name).alias(RECOMMENDER), USER_ID, MOVIE_ID, RANK
            )
        )
    return lists, relevant, seen
