"""The numpy engine's scoring step (python_jobs/item_knn.py, top_n_lists) on ratings small
enough to follow by hand. The whole engine, neighbours included, is held to the numpy
reference of tests/dbt/test_item_knn.py on the demo, ml-latest-small and ml-100k builds."""

from __future__ import annotations

import pandas as pd
import pytest

from python_jobs.item_knn import top_n_lists
from python_jobs.scoring import Interactions


def interactions(pairs: list[tuple[int, int]]) -> Interactions:
    return Interactions.from_pairs(
        pd.DataFrame(pairs, columns=["user_id", "movie_id"]), max_movies=None
    )


def nearest(rows: list[tuple[int, int, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(2, movie, neighbour, similarity, rank) for movie, neighbour, similarity, rank in rows],
        columns=["min_co_raters", "movie_id", "neighbour_id", "similarity", "neighbour_rank"],
    )


# Ratings: user 1 rated 10; user 2 rated 10, 20, 30; user 3 rated 20, 40; user 4 rated 30,
# 40; user 5 rated 30. Rating counts: 30 three times; 10, 20 and 40 twice; 50 never (so
# it is no column).
FIT = interactions(
    [(1, 10), (2, 10), (2, 20), (2, 30), (3, 20), (3, 40), (4, 30), (4, 40), (5, 30)]
)
# 20's neighbours: 10 (0.5), 40 (0.25); 30's: 10 (0.5), 20 (0.1); 40's: 20 (0.3), 10 (0.2).
NEAREST = nearest(
    [
        (20, 10, 0.5, 1),
        (20, 40, 0.25, 2),
        (30, 10, 0.5, 1),
        (30, 20, 0.1, 2),
        (40, 20, 0.3, 1),
        (40, 10, 0.2, 2),
    ]
)


def listed(lists: pd.DataFrame, user: int) -> list[tuple[int, float]]:
    rows = lists[lists["user_id"] == user].sort_values("recommendation_rank")
    return [
        (int(m), round(float(s), 12)) for m, s in zip(rows["movie_id"], rows["score"], strict=True)
    ]


def test_scores_sum_the_rated_neighbours_and_ties_go_to_the_lower_id() -> None:
    lists = top_n_lists(interactions=FIT, nearest=NEAREST, k=1, user_ids=[1, 3], top_n=3)
    # k = 1. User 1 rated 10, the nearest neighbour of 20 and of 30: both score 0.5, a tie
    # that goes to the lower id, 20, though 30 is more rated. 40's nearest is 20, which
    # user 1 did not rate, so 40 completes the list with score 0.
    assert listed(lists, 1) == [(20, 0.5), (30, 0.5), (40, 0.0)]
    # User 3 rated 20 and 40, leaving 10 (no neighbours) and 30 (nearest 10, unrated):
    # nothing scores, so the most-rated first: 30 (three ratings), then 10 (two).
    assert listed(lists, 3) == [(30, 0.0), (10, 0.0)]


def test_k_cuts_the_neighbours_and_completion_follows_the_scored_movies() -> None:
    lists = top_n_lists(interactions=FIT, nearest=NEAREST, k=2, user_ids=[3, 4, 9], top_n=3)
    # k = 2. User 3 (rated 20, 40): 30 now reaches 20, sim 0.1; 10 completes the list.
    assert listed(lists, 3) == [(30, 0.1), (10, 0.0)]
    # User 4 (rated 30, 40): 20 reaches 40, sim 0.25; 10 completes the list.
    assert listed(lists, 4) == [(20, 0.25), (10, 0.0)]
    # User 9 rated nothing in the fit: the most-rated movies, 30, then the tie of 10, 20
    # and 40 (two ratings each) to the lower ids.
    assert listed(lists, 9) == [(30, 0.0), (10, 0.0), (20, 0.0)]


def test_a_neighbour_outside_the_fit_scope_is_refused() -> None:
    stray = nearest([(20, 50, 0.5, 1)])  # movie 50 has no rating in FIT
    with pytest.raises(ValueError, match="neighbour movie 50 has no rating in the fit scope"):
        top_n_lists(interactions=FIT, nearest=stray, k=1, user_ids=[1], top_n=3)
