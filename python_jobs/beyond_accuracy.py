"""Beyond-accuracy metrics of top-N lists: novelty, intra-list diversity, serendipity, and
precision for the lightest and heaviest users, written with DataFrame operations only.

Like :mod:`python_jobs.metrics`, everything here is lazy (no Spark action), so it runs the
same in a classic session and over Spark Connect, and takes ``group_cols`` to score several
list sets (e.g. ``group_cols=[RECOMMENDER]``) in one call, one row per group.

The definitions are Microsoft Recommenders' (``recommenders/evaluation/python_evaluation.py``
and the same in ``spark_evaluation.py``, ``SparkDiversityEvaluation``), per list set, where
``L_u`` is user ``u``'s distinct movies at ranks ``<= k`` and ``H_u`` its distinct movies
in ``train`` (the interactions the recommenders learnt from):

* ``novelty`` (their ``novelty``, after Castells et al. 2011): the mean over list rows
  ``(u, i)`` of ``-log2(p(i))``, ``p(i) = |users of i in train| / |train interactions|``,
  each recommendation counting once (an item in many lists counts as often);
* ``intra_list_diversity`` (their ``diversity``): the mean over users with ``|L_u| >= 2``
  of ``1 - mean(sim(i, j))`` over the unordered pairs of distinct movies of ``L_u``;
* ``serendipity`` (their ``serendipity`` with a relevance column): the mean over users
  with a history of the mean over ``i`` in ``L_u`` of
  ``(1 - mean(sim(i, j) for j in H_u)) * rel(u, i)``, ``rel`` 1 for a relevant movie
  (e.g. in the user's test ratings), else 0.

``sim`` is the cosine of binary item vectors (a missing vector gives 0, as their
``fillna(0)``): over ``item_features`` rows ``(movie_id, feature)`` when given (e.g. genres
exploded: ``|G_i & G_j| / sqrt(|G_i| |G_j|)``; their ``item_feature_vector`` measure with
0/1 features), otherwise over the users of ``train`` (co-occurrence,
``|U_i & U_j| / sqrt(|U_i| |U_j|)``, their default ``item_cooccurrence_count``).

No pair table is built: with ``x_i`` the unit vector of item ``i``, a sum of cosines is a
dot product of sums, ``sum_j sim(i, j) = x_i . sum_j x_j`` and, over the pairs of a list,
``sum_{i<j} x_i . x_j = (|sum_i x_i|^2 - sum_i |x_i|^2) / 2``. Vectors are sparse rows
``(item, key, weight)``; a list costs its items' keys, not its pairs.

Microsoft Recommenders refuses lists that hold a user's training movie (a check that needs a
Spark action); here such a movie is scored like any other, its similarity to itself being 1.

``precision_by_activity`` is the project's own: :func:`python_jobs.metrics.ranking_metrics`
precision for the lightest and the heaviest quarter of the evaluated users by number of
training ratings. ``tests/python_jobs/test_beyond_accuracy.py`` checks every metric against
numpy/pandas implementations.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf

from python_jobs.columns import MOVIE_ID, RANK, USER_ID
from python_jobs.metrics import check_positive_int, require_columns

FEATURE = "feature"
# Internal columns: a vector's key (a feature, or a training user) and its weight.
_KEY = "_key"
_WEIGHT = "_weight"


def novelty(
    *,
    recommendations: DataFrame,
    train: DataFrame,
    k: int,
    group_cols: Sequence[str] = (),
    user_col: str = USER_ID,
    item_col: str = MOVIE_ID,
    rank_col: str = RANK,
) -> DataFrame:
    """Mean self-information ``-log2(p(i))`` of the recommended movies (module docstring).

    ``p(i)`` is the movie's share of the training interactions (distinct (user, movie)
    pairs of ``train``): its number of users over the number of interactions, so that
    the ``p(i)`` sum to 1 (Castells' item choice model, as Microsoft Recommenders'
    ``historical_item_novelty``). A recommended movie absent from ``train`` has no
    ``p(i)``: its rows are left out of the mean (Microsoft Recommenders keeps them in the
    denominator with novelty 0, as if ``p(i)`` were 1).

    Returns
    -------
    DataFrame
        One row (per group, ``group_cols`` first): ``novelty`` (double, bits) and
        ``n_recommendations`` (long, the list rows averaged).
    """
    check_positive_int(k, name="k")
    lists = _top_k(recommendations, k, group_cols, user_col, item_col, rank_col)
    require_columns(train, [user_col, item_col], name="train")
    interactions = train.select(user_col, item_col).distinct()
    total = interactions.agg(sf.count(sf.lit(1)).cast("double").alias("n_interactions"))
    item_users = interactions.groupBy(item_col).agg(sf.count(sf.lit(1)).alias("n_item_users"))
    self_information = -sf.log2(sf.col("n_item_users") / sf.col("n_interactions"))
    scored = (
        lists.join(item_users, on=item_col)
        .crossJoin(total)
        .select(*group_cols, self_information.alias("self_information"))
    )
    return _aggregate(
        scored,
        group_cols,
        sf.avg("self_information").alias("novelty"),
        sf.count(sf.lit(1)).alias("n_recommendations"),
    )


def intra_list_diversity(
    *,
    recommendations: DataFrame,
    k: int,
    item_features: DataFrame | None = None,
    train: DataFrame | None = None,
    feature_col: str = FEATURE,
    group_cols: Sequence[str] = (),
    user_col: str = USER_ID,
    item_col: str = MOVIE_ID,
    rank_col: str = RANK,
) -> DataFrame:
    """``1 -`` the mean pairwise similarity of a list, averaged over lists (module docstring).

    Parameters
    ----------
    recommendations
        One row per recommended (user, movie) with its rank; ranks above ``k`` are ignored.
    k
        Cut-off, a positive int.
    item_features, train
        Exactly one: ``item_features`` rows (``item_col``, ``feature_col``) for the cosine
        of binary feature vectors (a movie without features is similar to nothing), or
        ``train`` rows (``user_col``, ``item_col``) for the co-occurrence cosine.
    feature_col
        The feature column of ``item_features`` (e.g. ``genre``).
    group_cols
        Columns of ``recommendations`` naming one list set each.

    Returns
    -------
    DataFrame
        One row (per group): ``intra_list_diversity`` (double) and ``n_diversity_users``
        (long, the users with at least two movies at ranks ``<= k``; a shorter list has no
        pair and is left out, as in Microsoft Recommenders).
    """
    check_positive_int(k, name="k")
    if (item_features is None) == (train is None):
        raise ValueError("give exactly one of item_features (feature cosine) or train")
    lists = _top_k(recommendations, k, group_cols, user_col, item_col, rank_col)
    vectors = _unit_vectors(item_features, train, feature_col, user_col, item_col)
    list_keys = [*group_cols, user_col]
    # Per list and key: s = sum of its items' weights, q = sum of their squares.
    pair_sums = (
        lists.join(vectors, on=item_col)
        .groupBy(*list_keys, _KEY)
        .agg(sf.sum(_WEIGHT).alias("s"), sf.sum(sf.col(_WEIGHT) * sf.col(_WEIGHT)).alias("q"))
        .groupBy(*list_keys)
        .agg(sf.sum((sf.col("s") * sf.col("s") - sf.col("q")) / 2.0).alias("similarity_sum"))
    )
    n_items = sf.col("n_items").cast("double")
    per_user = (
        lists.groupBy(*list_keys)
        .agg(sf.count(sf.lit(1)).alias("n_items"))
        .where(sf.col("n_items") >= 2)
        .join(pair_sums, on=list_keys, how="left")
        .select(
            *group_cols,
            (
                1.0
                - sf.coalesce(sf.col("similarity_sum"), sf.lit(0.0))
                / (n_items * (n_items - 1.0) / 2.0)
            ).alias("user_diversity"),
        )
    )
    return _aggregate(
        per_user,
        group_cols,
        sf.avg("user_diversity").alias("intra_list_diversity"),
        sf.count(sf.lit(1)).alias("n_diversity_users"),
    )


def serendipity(
    *,
    recommendations: DataFrame,
    train: DataFrame,
    relevant: DataFrame | None,
    k: int,
    item_features: DataFrame | None = None,
    feature_col: str = FEATURE,
    group_cols: Sequence[str] = (),
    user_col: str = USER_ID,
    item_col: str = MOVIE_ID,
    rank_col: str = RANK,
) -> DataFrame:
    """Relevant and unlike the user's history, averaged per user then over users.

    Parameters
    ----------
    recommendations
        One row per recommended (user, movie) with its rank; ranks above ``k`` are ignored.
    train
        The interactions (``user_col``, ``item_col``): each user's history ``H_u``, and the
        co-occurrence similarity unless ``item_features`` is given.
    relevant
        One row per relevant (user, movie): ``rel`` is 1 for these, else 0. None scores
        every movie as relevant (Microsoft Recommenders' default without a relevance
        column: unexpectedness alone).
    k
        Cut-off, a positive int.
    item_features, feature_col
        As :func:`intra_list_diversity`: feature cosine when given, else co-occurrence.
    group_cols
        Columns of ``recommendations`` naming one list set each.

    Returns
    -------
    DataFrame
        One row (per group): ``serendipity`` (double) and ``n_serendipity_users`` (long,
        the users with a list and a non-empty history; the others are left out, as in
        Microsoft Recommenders).
    """
    check_positive_int(k, name="k")
    lists = _top_k(recommendations, k, group_cols, user_col, item_col, rank_col)
    require_columns(train, [user_col, item_col], name="train")
    history = train.select(user_col, item_col).distinct()
    history_size = history.groupBy(user_col).agg(sf.count(sf.lit(1)).alias("n_history"))
    vectors = _unit_vectors(item_features, train, feature_col, user_col, item_col)
    # A user's profile: the sum of the unit vectors of its history, over listed users only.
    profiles = (
        history.join(lists.select(user_col).distinct(), on=user_col, how="left_semi")
        .join(vectors, on=item_col)
        .groupBy(user_col, _KEY)
        .agg(sf.sum(_WEIGHT).alias("profile"))
    )
    item_keys = [*group_cols, user_col, item_col]
    similarity_sums = (
        lists.join(vectors, on=item_col)
        .join(profiles, on=[user_col, _KEY])
        .groupBy(*item_keys)
        .agg(sf.sum(sf.col(_WEIGHT) * sf.col("profile")).alias("similarity_sum"))
    )
    per_item = lists.join(history_size, on=user_col).join(similarity_sums, on=item_keys, how="left")
    if relevant is not None:
        require_columns(relevant, [user_col, item_col], name="relevant")
        truth = relevant.select(user_col, item_col).distinct().withColumn("rel", sf.lit(1.0))
        relevance: Column = sf.coalesce(sf.col("rel"), sf.lit(0.0))
        per_item = per_item.join(truth, on=[user_col, item_col], how="left")
    else:
        relevance = sf.lit(1.0)
    mean_similarity = sf.coalesce(sf.col("similarity_sum"), sf.lit(0.0)) / sf.col("n_history")
    per_user = (
        per_item.select(*group_cols, user_col, ((1.0 - mean_similarity) * relevance).alias("s"))
        .groupBy(*group_cols, user_col)
        .agg(sf.avg("s").alias("user_serendipity"))
    )
    return _aggregate(
        per_user,
        group_cols,
        sf.avg("user_serendipity").alias("serendipity"),
        sf.count(sf.lit(1)).alias("n_serendipity_users"),
    )


def precision_by_activity(
    *,
    recommendations: DataFrame,
    relevant: DataFrame,
    train: DataFrame,
    k: int,
    group_cols: Sequence[str] = (),
    user_col: str = USER_ID,
    item_col: str = MOVIE_ID,
    rank_col: str = RANK,
) -> DataFrame:
    """Precision at ``k`` of the lightest and of the heaviest quarter of users by activity.

    The users are those of ``relevant`` (the evaluated users of
    :func:`python_jobs.metrics.ranking_metrics`), ``N`` of them; a user's activity is its
    number of distinct movies in ``train`` (0 if none). With ``a_1 <= ... <= a_N`` their
    activities sorted and ``m = ceil(N / 4)``, the lightest quarter is every user with
    activity ``<= a_m``, the heaviest every user with activity ``>= a_(N + 1 - m)``: at least
    ``m`` users each, and users tied at a boundary all go in (so a quarter may hold more
    than ``N / 4``; with ``N < 4``, or everybody equally active, the two overlap). Each
    quarter's precision is ``ranking_metrics``' ``precision@k`` over that quarter's users:
    their hits at ranks ``<= k`` over ``k`` times their number (a user without a list
    scores 0).

    Returns
    -------
    DataFrame
        One row (per group): ``precision_at_k_lightest``, ``precision_at_k_heaviest``
        (double), ``n_users_lightest``, ``n_users_heaviest`` (long),
        ``lightest_max_ratings`` (``a_m``) and ``heaviest_min_ratings`` (``a_(N+1-m)``).
        With no relevant rows the precisions are null.
    """
    check_positive_int(k, name="k")
    require_columns(relevant, [user_col, item_col], name="relevant")
    require_columns(train, [user_col, item_col], name="train")
    activity_counts = (
        train.select(user_col, item_col)
        .distinct()
        .groupBy(user_col)
        .agg(sf.count(sf.lit(1)).alias("n_ratings"))
    )
    truth = relevant.select(user_col, item_col).distinct()
    activity = (
        truth.select(user_col)
        .distinct()
        .join(activity_counts, on=user_col, how="left")
        .select(user_col, sf.coalesce(sf.col("n_ratings"), sf.lit(0)).alias("n_ratings"))
    )
    ordered = sf.sort_array(sf.collect_list("n_ratings"))
    n_users = sf.count(sf.lit(1)).cast("int")
    quarter = sf.ceil(n_users / 4.0).cast("int")
    bounds = activity.agg(
        sf.when(n_users > 0, sf.element_at(ordered, quarter)).alias("lightest_max_ratings"),
        sf.when(n_users > 0, sf.element_at(ordered, n_users + 1 - quarter)).alias(
            "heaviest_min_ratings"
        ),
    )
    quarters = activity.crossJoin(bounds).select(
        user_col,
        (sf.col("n_ratings") <= sf.col("lightest_max_ratings")).cast("int").alias("is_lightest"),
        (sf.col("n_ratings") >= sf.col("heaviest_min_ratings")).cast("int").alias("is_heaviest"),
        "lightest_max_ratings",
        "heaviest_min_ratings",
    )
    sizes = quarters.agg(
        sf.coalesce(sf.sum("is_lightest"), sf.lit(0)).alias("n_users_lightest"),
        sf.coalesce(sf.sum("is_heaviest"), sf.lit(0)).alias("n_users_heaviest"),
        sf.max("lightest_max_ratings").alias("lightest_max_ratings"),
        sf.max("heaviest_min_ratings").alias("heaviest_min_ratings"),
    )
    # The hits at ranks <= k of evaluated users, counted per group and quarter.
    lists = _top_k(recommendations, k, group_cols, user_col, item_col, rank_col)
    hits = _aggregate(
        lists.join(truth, on=[user_col, item_col]).join(
            quarters.select(user_col, "is_lightest", "is_heaviest"), on=user_col
        ),
        group_cols,
        sf.sum("is_lightest").alias("hits_lightest"),
        sf.sum("is_heaviest").alias("hits_heaviest"),
    )
    if group_cols:
        hits = lists.select(*group_cols).distinct().join(hits, on=list(group_cols), how="left")

    def precision(name: str) -> Column:
        users = sf.col(f"n_users_{name}")
        denominator = sf.when(users > 0, users * float(k))
        return (sf.coalesce(sf.col(f"hits_{name}"), sf.lit(0)) / denominator).alias(
            f"precision_at_k_{name}"
        )

    return hits.crossJoin(sizes).select(
        *group_cols,
        precision("lightest"),
        precision("heaviest"),
        "n_users_lightest",
        "n_users_heaviest",
        "lightest_max_ratings",
        "heaviest_min_ratings",
    )


def _top_k(
    recommendations: DataFrame,
    k: int,
    group_cols: Sequence[str],
    user_col: str,
    item_col: str,
    rank_col: str,
) -> DataFrame:
    """The distinct (group, user, movie) rows at ranks ``<= k``."""
    require_columns(
        recommendations, [*group_cols, user_col, item_col, rank_col], name="recommendations"
    )
    return (
        recommendations.where(sf.col(rank_col) <= k)
        .select(*group_cols, user_col, item_col)
        .distinct()
    )


def _unit_vectors(
    item_features: DataFrame | None,
    train: DataFrame | None,
    feature_col: str,
    user_col: str,
    item_col: str,
) -> DataFrame:
    """Each item's binary vector scaled to unit length, as rows (item, ``_KEY``, ``_WEIGHT``).

    The keys are the item's features when ``item_features`` is given, else its training
    users; the weight is ``1 / sqrt(number of keys of the item)``, so that the dot product
    of two items' vectors is the cosine of their binary vectors.
    """
    if item_features is not None:
        require_columns(item_features, [item_col, feature_col], name="item_features")
        incidence = item_features.select(item_col, sf.col(feature_col).alias(_KEY))
    else:
        require_columns(train, [user_col, item_col], name="train")
        incidence = train.select(item_col, sf.col(user_col).alias(_KEY))
    incidence = incidence.where(sf.col(_KEY).isNotNull()).distinct()
    n_keys = incidence.groupBy(item_col).agg(sf.count(sf.lit(1)).alias("n_keys"))
    return incidence.join(n_keys, on=item_col).select(
        item_col, _KEY, (1.0 / sf.sqrt(sf.col("n_keys").cast("double"))).alias(_WEIGHT)
    )


def _aggregate(frame: DataFrame, group_cols: Sequence[str], *aggregates: Column) -> DataFrame:
    """``aggregates`` per group, or over the whole frame (one row) without ``group_cols``."""
    if group_cols:
        return frame.groupBy(*group_cols).agg(*aggregates)
    return frame.agg(*aggregates)
