"""python_jobs.blend and python_jobs.selection: the fusion, the weights' search and the
served rule, against brute-force computations in plain Python."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from python_jobs import blend
from python_jobs.selection import served

NAMES = ["a", "b"]


def _lists(rows: list[tuple[str, int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["recommender", "user_id", "movie_id", "score"])


def _fused_by_hand(rows, weights: dict[str, float], depth: int) -> dict[int, list[int]]:
    """Min-max onto [0.01, 1] per (recommender, user), weighted sum, sort by (-score, id)."""
    frame = _lists(rows)
    fused: dict[tuple[int, int], float] = {}
    for (name, user), part in frame.groupby(["recommender", "user_id"]):
        low, high = part["score"].min(), part["score"].max()
        for movie, score in zip(part["movie_id"], part["score"], strict=True):
            norm = 1.0 if high == low else 0.01 + 0.99 * (score - low) / (high - low)
            fused[(user, movie)] = fused.get((user, movie), 0.0) + weights[name] * norm
    result: dict[int, list[int]] = {}
    for user in sorted({u for u, _ in fused}):
        ranked = sorted((-s, m) for (u, m), s in fused.items() if u == user)
        result[user] = [m for _, m in ranked[:depth]]
    return result


def _ndcg(ranked: list[int], relevant: set[int], k: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, m in enumerate(ranked[:k]) if m in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal


ROWS = [
    # user 1: a ranks 10 > 11 > 12, b ranks 12 > 13
    ("a", 1, 10, 9.0), ("a", 1, 11, 5.0), ("a", 1, 12, 1.0),
    ("b", 1, 12, 0.8), ("b", 1, 13, 0.2),
    # user 2: a ranks 20 > 21, b ranks 21 > 22 > 20 (scores on another scale)
    ("a", 2, 20, 3.0), ("a", 2, 21, 2.0),
    ("b", 2, 21, 30.0), ("b", 2, 22, 20.0), ("b", 2, 20, 10.0),
]  # fmt: skip


def test_simplex_is_every_grid_point_summing_to_one():
    grid = blend.simplex(3, 4)
    expected = {p for p in itertools.product(range(5), repeat=3) if sum(p) == 4}
    assert {tuple(np.rint(row * 4).astype(int)) for row in grid} == expected
    assert len(grid) == len(expected)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)


def test_normalised_maps_a_list_onto_floor_to_one():
    np.testing.assert_allclose(blend.normalised(np.array([5.0, 1.0, 3.0])), [1.0, 0.01, 0.505])
    np.testing.assert_allclose(blend.normalised(np.array([2.0, 2.0])), [1.0, 1.0])


@pytest.mark.parametrize(
    "weights", [{"a": 1.0, "b": 0.0}, {"a": 0.3, "b": 0.7}, {"a": 0.5, "b": 0.5}]
)
def test_fused_lists_equal_the_fusion_by_hand(weights):
    got = blend.fused_lists(_lists(ROWS), weights, depth=3)
    expected = _fused_by_hand(ROWS, weights, depth=3)
    for user, movies in expected.items():
        mine = got[got["user_id"] == user].sort_values("recommendation_rank")
        assert mine["movie_id"].tolist() == movies
        assert mine["recommendation_rank"].tolist() == list(range(1, len(movies) + 1))
    assert set(got["user_id"]) == set(expected)


def test_scored_grid_is_the_mean_ndcg_over_users_with_a_relevant_movie():
    relevant = {1: {12, 13}, 2: {22}, 3: {99}}  # user 3 has no list: counts 0
    points = blend.simplex(2, 4)
    values = blend.scored_grid(blend.Candidates(_lists(ROWS), NAMES), relevant, points, k=2)
    for point, value in zip(points, values, strict=True):
        lists = _fused_by_hand(ROWS, dict(zip(NAMES, point, strict=True)), depth=2)
        expected = sum(_ndcg(lists.get(u, []), rel, 2) for u, rel in relevant.items()) / 3
        assert value == pytest.approx(expected), point


def test_tune_weights_finds_the_better_recommender_and_holds_each_carving_out():
    # b's lists hold every user's relevant movies first, a's hold none of them.
    rows, relevant = [], {}
    for user in range(1, 9):
        good, bad = 200 + user, 100 + user  # a tie of fused scores goes to bad
        rows += [("a", user, bad, 2.0), ("a", user, good, 1.0)]
        rows += [("b", user, good, 2.0), ("b", user, bad, 1.0)]
        relevant[user] = {good}
    candidates = blend.Candidates(_lists(rows), NAMES)
    carvings = {0: (candidates, relevant), 1: (candidates, relevant)}
    table = blend.tune_weights(carvings, NAMES, k=1)
    assert table["carving"].tolist()[:2] == [0, 1] and pd.isna(table["carving"].iloc[2])
    assert table["held_out"].tolist() == [True, True, False]
    for weights, ndcg in zip(table["weights"], table["ndcg_at_k"], strict=True):
        chosen = json.loads(weights)
        assert chosen["b"] > chosen["a"] and sum(chosen.values()) == pytest.approx(1.0)
        assert ndcg == pytest.approx(1.0)


def _scores(**rows: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [(name, mean, std) for name, (mean, std) in rows.items()],
        columns=["recommender", "mean", "std"],
    )


def test_served_is_the_best_mean_unless_the_blend_is_within_the_spread():
    # The blend 0.004 below EASE, their larger spread 0.005: the blend is served.
    assert served(_scores(ease=(0.300, 0.002), blend=(0.296, 0.005), popularity=(0.1, 0.0))) == (
        "blend"
    )
    # 0.010 below, spread 0.005: EASE.
    assert served(_scores(ease=(0.300, 0.005), blend=(0.290, 0.001))) == "ease"
    # The blend best outright.
    assert served(_scores(ease=(0.300, 0.0), blend=(0.310, 0.0))) == "blend"
    # No blend: the best mean; a tie goes to the name first in alphabetical order.
    assert served(_scores(item_knn=(0.2, 0.0), ease=(0.2, 0.0))) == "ease"
