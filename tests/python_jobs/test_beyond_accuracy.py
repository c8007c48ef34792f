"""Tests for python_jobs.beyond_accuracy against plain numpy / pandas implementations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from python_jobs.beyond_accuracy import (
    intra_list_diversity,
    novelty,
    precision_by_activity,
    serendipity,
)
from python_jobs.columns import MOVIE_ID, RANK, RECOMMENDER, USER_ID
from python_jobs.metrics import ranking_metrics
from tests.reference import reference_ranking

SQRT2 = math.sqrt(2.0)
# Hand-made genres: sim(1, 2) = |{Drama}| / sqrt(2 * 1) = 1/sqrt(2); 3 shares nothing; 4 has none.
GENRES = {1: {"Drama", "Comedy"}, 2: {"Drama"}, 3: {"Horror"}, 4: set()}


# ---- plain-Python / numpy references, one user at a time -------------------------------------


def cosine_lookup(incidence: dict[int, set]) -> dict[tuple[int, int], float]:
    """Cosine of the items' binary vectors (rows of a dense numpy matrix); 0 for an empty one."""
    items = sorted(incidence)
    keys = sorted({key for values in incidence.values() for key in values}, key=str)
    matrix = np.zeros((len(items), len(keys)))
    for row, item in enumerate(items):
        for key in incidence[item]:
            matrix[row, keys.index(key)] = 1.0
    norms = np.linalg.norm(matrix, axis=1)
    dots = matrix @ matrix.T
    outer = np.outer(norms, norms)
    cosines = np.divide(dots, outer, out=np.zeros_like(dots), where=outer > 0)
    return {(a, b): float(cosines[x, y]) for x, a in enumerate(items) for y, b in enumerate(items)}


def users_of_items(train: dict[int, set[int]]) -> dict[int, set[int]]:
    incidence: dict[int, set[int]] = {}
    for user, movies in train.items():
        for movie in movies:
            incidence.setdefault(movie, set()).add(user)
    return incidence


def ref_novelty(lists, train, k):
    interactions = [(u, m) for u, movies in train.items() for m in movies]
    counts = pd.Series([m for _, m in interactions]).value_counts()
    values = [
        -np.log2(counts[m] / len(interactions))
        for movies in lists.values()
        for m in movies[:k]
        if m in counts.index
    ]
    return (float(np.mean(values)) if values else None), len(values)


def ref_diversity(lists, sim, k):
    per_user = []
    for movies in lists.values():
        top = movies[:k]
        if len(top) < 2:
            continue
        pairs = list(itertools.combinations(top, 2))
        per_user.append(1.0 - np.mean([sim.get((a, b), 0.0) for a, b in pairs]))
    return (float(np.mean(per_user)) if per_user else None), len(per_user)


def ref_serendipity(lists, train, relevant, sim, k):
    per_user = []
    for user, movies in lists.items():
        history = train.get(user, set())
        top = movies[:k]
        if not history or not top:
            continue
        scores = []
        for movie in top:
            unexpected = 1.0 - np.mean([sim.get((movie, seen), 0.0) for seen in history])
            rel = 1.0 if relevant is None or movie in relevant.get(user, set()) else 0.0
            scores.append(unexpected * rel)
        per_user.append(np.mean(scores))
    return (float(np.mean(per_user)) if per_user else None), len(per_user)


def ref_precision_by_activity(lists, relevant, train, k):
    activity = {user: len(train.get(user, set())) for user in relevant}
    ordered = sorted(activity.values())
    m = math.ceil(len(ordered) / 4)
    low, high = ordered[m - 1], ordered[len(ordered) - m]
    light = {u: movies for u, movies in relevant.items() if activity[u] <= low}
    heavy = {u: movies for u, movies in relevant.items() if activity[u] >= high}
    return {
        "precision_at_k_lightest": reference_ranking(lists, light, k)["precision_at_k"],
        "precision_at_k_heaviest": reference_ranking(lists, heavy, k)["precision_at_k"],
        "n_users_lightest": len(light),
        "n_users_heaviest": len(heavy),
        "lightest_max_ratings": low,
        "heaviest_min_ratings": high,
    }


# ---- frames ------------------------------------------------------------------------------------


def recs_frame(spark, lists_by_group: dict[str, dict[int, list[int]]]):
    rows = [
        (group, user, movie, rank + 1)
        for group, lists in lists_by_group.items()
        for user, movies in lists.items()
        for rank, movie in enumerate(movies)
    ]
    return spark.createDataFrame(
        rows, f"{RECOMMENDER} string, {USER_ID} int, {MOVIE_ID} int, {RANK} int"
    )


def pairs_frame(spark, pairs: dict[int, set[int]]):
    rows = [(user, movie) for user, movies in pairs.items() for movie in sorted(movies)]
    return spark.createDataFrame(rows, f"{USER_ID} int, {MOVIE_ID} int")


def genres_frame(spark, genres: dict[int, set[str]]):
    rows = [(movie, genre) for movie, values in genres.items() for genre in sorted(values)]
    return spark.createDataFrame(rows, f"{MOVIE_ID} int, genre string")


def random_case(seed: int):
    """Two recommenders' lists (some empty or one long), histories (some empty), test sets and
    genres (some movies without any) over 30 movies; a few listed movies are in no history."""
    rng = np.random.default_rng(seed)
    movies = list(range(1, 31))
    train = {
        u: {int(m) for m in rng.choice(movies[:26], size=rng.integers(0, 9), replace=False)}
        for u in range(1, 26)
    }
    lists = {
        group: {
            u: [
                int(m)
                for m in rng.choice(
                    [m for m in movies if m not in train[u]], size=rng.integers(0, 8), replace=False
                )
            ]
            for u in range(1, 26)
            if rng.random() < 0.9
        }
        for group in ("a", "b")
    }
    relevant = {
        u: {int(m) for m in rng.choice(movies, size=rng.integers(1, 6), replace=False)}
        for u in range(1, 26)
        if rng.random() < 0.8
    }
    genres = {
        m: {str(g) for g in rng.choice(["Action", "Comedy", "Drama", "Horror", "War"], size=n)}
        for m in movies
        for n in [rng.integers(0, 4)]
    }
    return lists, train, relevant, genres


def by_group(frame) -> dict:
    return {row[RECOMMENDER]: row.asDict() for row in frame.collect()}


# ---- novelty -----------------------------------------------------------------------------------


def test_novelty_hand_checked_with_cut_off(spark):
    # Train: 5 interactions; movie 1 has 3 users, movies 2 and 3 one each.
    train = {1: {1, 2}, 2: {1, 3}, 3: {1}}
    # k=2: rows (4,1), (4,2), (5,2) score; (4,9) is beyond k, (5,7) is in no history.
    lists = {4: [1, 2, 9], 5: [2, 7]}
    got = novelty(
        recommendations=recs_frame(spark, {"x": lists}),
        train=pairs_frame(spark, train),
        k=2,
    ).first()
    # -log2(3/5) once and -log2(1/5) twice.
    assert got["novelty"] == pytest.approx((math.log2(5 / 3) + 2 * math.log2(5)) / 3)
    assert got["n_recommendations"] == 3


def test_novelty_per_group_matches_reference(spark):
    lists, train, _, _ = random_case(1)
    got = by_group(
        novelty(
            recommendations=recs_frame(spark, lists),
            train=pairs_frame(spark, train),
            k=5,
            group_cols=[RECOMMENDER],
        )
    )
    assert set(got) == {"a", "b"}
    for group, group_lists in lists.items():
        value, count = ref_novelty(group_lists, train, 5)
        assert got[group]["novelty"] == pytest.approx(value, abs=1e-12), group
        assert got[group]["n_recommendations"] == count


# ---- intra-list diversity ----------------------------------------------------------------------


def test_intra_list_diversity_over_genres_hand_checked(spark):
    # u1 [1,2,3]: pair sims 1/sqrt2, 0, 0 -> 1 - 1/(3 sqrt2); u2 [1,2]: 1 - 1/sqrt2;
    # u3 [3,4,1]: all pairs 0 -> 1; u4 [2]: no pair, left out.
    lists = {1: [1, 2, 3], 2: [1, 2], 3: [3, 4, 1], 4: [2]}
    recs = recs_frame(spark, {"x": lists})
    genres = genres_frame(spark, GENRES)
    got = intra_list_diversity(recommendations=recs, item_features=genres, feature_col="genre", k=3)
    row = got.first()
    assert row["intra_list_diversity"] == pytest.approx(
        ((1 - 1 / (3 * SQRT2)) + (1 - 1 / SQRT2) + 1.0) / 3
    )
    assert row["n_diversity_users"] == 3
    # k=2: u1 and u2 are [1,2] (1 - 1/sqrt2 each), u3 is [3,4] (1), u4 still out.
    at_2 = intra_list_diversity(
        recommendations=recs, item_features=genres, feature_col="genre", k=2
    ).first()
    assert at_2["intra_list_diversity"] == pytest.approx((2 * (1 - 1 / SQRT2) + 1.0) / 3)


def test_intra_list_diversity_over_cooccurrence_hand_checked(spark):
    # Users of 1: {10,11}, of 2: {10,11}, of 3: {11,12}: sim(1,2) = 2/sqrt(2*2) = 1,
    # sim(1,3) = sim(2,3) = 1/sqrt(2*2) = 1/2; mean (1 + 1/2 + 1/2) / 3 = 2/3 -> 1/3.
    train = {10: {1, 2}, 11: {1, 2, 3}, 12: {3}}
    got = intra_list_diversity(
        recommendations=recs_frame(spark, {"x": {1: [1, 2, 3]}}),
        train=pairs_frame(spark, train),
        k=10,
    ).first()
    assert got["intra_list_diversity"] == pytest.approx(1 / 3)
    assert got["n_diversity_users"] == 1


@pytest.mark.parametrize("measure", ["genres", "cooccurrence"])
def test_intra_list_diversity_per_group_matches_reference(spark, measure):
    lists, train, _, genres = random_case(2)
    k = 5
    if measure == "genres":
        similarity = {"item_features": genres_frame(spark, genres), "feature_col": "genre"}
        sim = cosine_lookup(genres)
    else:
        similarity = {"train": pairs_frame(spark, train)}
        sim = cosine_lookup(users_of_items(train))
    got = by_group(
        intra_list_diversity(
            recommendations=recs_frame(spark, lists), k=k, group_cols=[RECOMMENDER], **similarity
        )
    )
    assert set(got) == {"a", "b"}
    for group, group_lists in lists.items():
        value, count = ref_diversity(group_lists, sim, k)
        assert got[group]["intra_list_diversity"] == pytest.approx(value, abs=1e-12), group
        assert got[group]["n_diversity_users"] == count


# ---- serendipity -------------------------------------------------------------------------------


def test_serendipity_over_genres_hand_checked(spark):
    # u1: history {2,3}, top-2 [1,4] (3 is beyond k), relevant {1}.
    #   movie 1: sims to 2 and 3 are 1/sqrt2 and 0 -> (1 - 1/(2 sqrt2)) * 1; movie 4: (1 - 0) * 0.
    # u2: history {1}, list [2,3], relevant {2,3}: movie 2 -> 1 - 1/sqrt2, movie 3 -> 1.
    # u3: no history, left out.
    train = {1: {2, 3}, 2: {1}}
    lists = {1: [1, 4, 3], 2: [2, 3], 3: [1]}
    relevant = {1: {1}, 2: {2, 3}, 3: {1}}
    frames = {
        "recommendations": recs_frame(spark, {"x": lists}),
        "train": pairs_frame(spark, train),
        "item_features": genres_frame(spark, GENRES),
        "feature_col": "genre",
        "k": 2,
    }
    got = serendipity(relevant=pairs_frame(spark, relevant), **frames).first()
    user_1 = ((1 - 1 / (2 * SQRT2)) + 0.0) / 2
    user_2 = ((1 - 1 / SQRT2) + 1.0) / 2
    assert got["serendipity"] == pytest.approx((user_1 + user_2) / 2)
    assert got["n_serendipity_users"] == 2
    # Without relevance, movie 4 of u1 counts 1 - 0 = 1.
    unweighted = serendipity(relevant=None, **frames).first()
    assert unweighted["serendipity"] == pytest.approx(
        ((1 - 1 / (2 * SQRT2) + 1.0) / 2 + user_2) / 2
    )


def test_serendipity_over_cooccurrence_hand_checked(spark):
    # Users of 1: {10,11}, of 2: {10}, of 3: {11}; user 10's history is {1,2}.
    # A list [3] for user 10: sim(3,1) = 1/sqrt(1*2), sim(3,2) = 0 -> 1 - 1/(2 sqrt2).
    train = {10: {1, 2}, 11: {1, 3}}
    got = serendipity(
        recommendations=recs_frame(spark, {"x": {10: [3]}}),
        train=pairs_frame(spark, train),
        relevant=pairs_frame(spark, {10: {3}}),
        k=1,
    ).first()
    assert got["serendipity"] == pytest.approx(1 - 1 / (2 * SQRT2))


@pytest.mark.parametrize("measure", ["genres", "cooccurrence"])
def test_serendipity_per_group_matches_reference(spark, measure):
    lists, train, relevant, genres = random_case(3)
    k = 4
    if measure == "genres":
        features = {"item_features": genres_frame(spark, genres), "feature_col": "genre"}
        sim = cosine_lookup(genres)
    else:
        features = {}
        sim = cosine_lookup(users_of_items(train))
    got = by_group(
        serendipity(
            recommendations=recs_frame(spark, lists),
            train=pairs_frame(spark, train),
            relevant=pairs_frame(spark, relevant),
            k=k,
            group_cols=[RECOMMENDER],
            **features,
        )
    )
    assert set(got) == {"a", "b"}
    for group, group_lists in lists.items():
        value, count = ref_serendipity(group_lists, train, relevant, sim, k)
        assert got[group]["serendipity"] == pytest.approx(value, abs=1e-12), group
        assert got[group]["n_serendipity_users"] == count


# ---- precision by activity ---------------------------------------------------------------------


def test_precision_by_activity_hand_checked_with_ties(spark):
    # Activities of the 8 evaluated users 1..8: 1, 1, 2, 3, 5, 8, 8, 8. m = ceil(8/4) = 2:
    # lightest = activity <= 2nd smallest (1) -> users 1, 2; heaviest = activity >= 7th
    # smallest (8) -> users 6, 7, 8 (the tie at 8 goes in whole). User 9 has no test movie.
    activity = {1: 1, 2: 1, 3: 2, 4: 3, 5: 5, 6: 8, 7: 8, 8: 8, 9: 30}
    train = {u: set(range(100, 100 + n)) for u, n in activity.items()}
    relevant = {u: {u} for u in range(1, 9)}
    # k=2 hits: user 1 at rank 1, user 2 none (its hit is at rank 3), user 6 at rank 2,
    # user 7 none, user 8 has no list.
    lists = {1: [1, 50], 2: [50, 51, 2], 6: [50, 6], 7: [50, 51]}
    got = precision_by_activity(
        recommendations=recs_frame(spark, {"x": lists}),
        relevant=pairs_frame(spark, relevant),
        train=pairs_frame(spark, train),
        k=2,
    ).first()
    assert got["precision_at_k_lightest"] == pytest.approx((1 / 2 + 0) / 2)
    assert got["precision_at_k_heaviest"] == pytest.approx((1 / 2 + 0 + 0) / 3)
    assert (got["n_users_lightest"], got["n_users_heaviest"]) == (2, 3)
    assert (got["lightest_max_ratings"], got["heaviest_min_ratings"]) == (1, 8)
    # The same figure as the project's precision@k over the heaviest quarter alone.
    heaviest = ranking_metrics(
        recommendations=recs_frame(spark, {"x": lists}),
        relevant=pairs_frame(spark, {u: relevant[u] for u in (6, 7, 8)}),
        k=2,
    ).first()
    assert got["precision_at_k_heaviest"] == pytest.approx(heaviest["precision_at_k"])


def test_precision_by_activity_per_group_matches_reference(spark):
    lists, train, relevant, _ = random_case(4)
    got = by_group(
        precision_by_activity(
            recommendations=recs_frame(spark, lists),
            relevant=pairs_frame(spark, relevant),
            train=pairs_frame(spark, train),
            k=3,
            group_cols=[RECOMMENDER],
        )
    )
    assert set(got) == {"a", "b"}
    for group, group_lists in lists.items():
        expected = ref_precision_by_activity(group_lists, relevant, train, 3)
        row = {name: got[group][name] for name in expected}
        assert row == pytest.approx(expected, abs=1e-12), group


def test_precision_by_activity_few_or_no_users(spark):
    recs = recs_frame(spark, {"x": {1: [5, 6], 2: [7, 8]}})
    # Three users (activity 2, 1, 1): m = ceil(3/4) = 1 -> lightest {2, 3}, heaviest {1}.
    three = precision_by_activity(
        recommendations=recs,
        relevant=pairs_frame(spark, {1: {5}, 2: {9}, 3: {7}}),
        train=pairs_frame(spark, {1: {20, 21}, 2: {20}, 3: {21}}),
        k=2,
    ).first()
    assert three["precision_at_k_heaviest"] == pytest.approx(1 / 2)
    assert three["precision_at_k_lightest"] == pytest.approx(0.0)
    assert (three["n_users_lightest"], three["n_users_heaviest"]) == (2, 1)
    empty = precision_by_activity(
        recommendations=recs,
        relevant=pairs_frame(spark, {}),
        train=pairs_frame(spark, {1: {20}}),
        k=2,
    ).first()
    assert empty["precision_at_k_lightest"] is None
    assert empty["lightest_max_ratings"] is None


# ---- inputs ------------------------------------------------------------------------------------


def test_inputs_checked_without_running_spark(spark):
    recs = recs_frame(spark, {"x": {1: [1, 2]}})
    train = pairs_frame(spark, {1: {3}})
    with pytest.raises(ValueError, match="k must be a positive int"):
        novelty(recommendations=recs, train=train, k=0)
    with pytest.raises(ValueError, match="exactly one"):
        intra_list_diversity(recommendations=recs, k=2)
    with pytest.raises(ValueError, match="exactly one"):
        intra_list_diversity(
            recommendations=recs, k=2, train=train, item_features=genres_frame(spark, GENRES)
        )
    with pytest.raises(ValueError, match="lacks column"):
        intra_list_diversity(recommendations=recs, k=2, item_features=genres_frame(spark, GENRES))
    with pytest.raises(ValueError, match="lacks column"):
        serendipity(recommendations=recs.drop(RANK), train=train, relevant=None, k=2)
    with pytest.raises(ValueError, match="lacks column"):
        precision_by_activity(
            recommendations=recs, relevant=train, train=train, k=2, group_cols=[RECOMMENDER, "cell"]
        )
