"""The numpy engine's two steps (python_jobs/item_knn.py): the neighbours against the dense
reference of tests/dbt/test_item_knn.py on random ratings full of ties, and the scoring on
ratings small enough to follow by hand. The whole engine is also held to that reference on
the demo, ml-latest-small and ml-100k builds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from python_jobs.item_knn import neighbours, top_n_lists
from python_jobs.scoring import Interactions
from tests.dbt.test_item_knn import FitScope


def random_ratings(seed: int) -> pd.DataFrame:
    """60 users x 30 movies at 30% density, ratings 3 or 4 only: many equal similarities,
    so the order among ties (more co-raters, then the lower id) decides."""
    rng = np.random.default_rng(seed)
    users, movies = np.nonzero(rng.random((60, 30)) < 0.3)
    return pd.DataFrame(
        {
            "user_id": users + 1,
            "movie_id": (movies + 1) * 10,
            "rating": rng.choice([3.0, 4.0], size=len(users)),
        }
    )


@pytest.mark.parametrize("block_entries", [40, 2_000_000], ids=["two-movie-blocks", "one-block"])
@pytest.mark.parametrize("seed", [1, 2])
def test_neighbours_equal_the_dense_reference(seed: int, block_entries: int) -> None:
    ratings = random_ratings(seed)
    scope = FitScope(ratings, min_co_raters=16)  # prunes some of the 30 movies
    assert 0 < len(scope.eligible) < 30
    actual = neighbours(
        ratings, floors=[1, 4], max_k=5, min_co_raters=16, block_entries=block_entries
    )
    ids = scope.movies[scope.eligible]
    for floor in (1, 4):
        matrix = scope.neighbour_matrix(k=5, floor=floor)
        expected = [
            (int(ids[j]), int(ids[i]), matrix[i, j])
            for j in range(len(ids))
            for i in np.flatnonzero(matrix[:, j])
        ]
        got = actual[actual["min_co_raters"] == floor]
        assert sorted(
            zip(got["movie_id"], got["neighbour_id"], got["similarity"], strict=True)
        ) == (sorted(expected))
        # ranks 1..n per movie, in the reference's order
        for movie, rows in got.groupby("movie_id"):
            ranked = rows.sort_values("neighbour_rank")
            assert ranked["neighbour_rank"].tolist() == list(range(1, len(rows) + 1))
            column = int(np.flatnonzero(ids == movie)[0])
            chosen = np.flatnonzero(matrix[:, column])
            order = np.lexsort(
                (ids[chosen], -scope.co_raters[chosen, column], -scope.similarity[chosen, column])
            )
            assert ranked["neighbour_id"].tolist() == ids[chosen[order]].tolist()


def interactions(pairs: list[tuple[int, int]]) -> Interactions:
    return Interactions.from_pairs(
        pd.DataFrame(pairs, columns=["user_id", "movie_id"]), max_movies=None
    )


def nearest(rows: list[tuple[int, int, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(2, movie, neighbour, similarity, rank) for movie, neighbour, similarity, rank in rows],
        columns=["min_co_raters", "movie_id", "neighbour_id", "similarity", "neighbour_rank"],
    )


def test_equal_similarities_go_to_the_neighbour_with_more_co_raters() -> None:
    # Every rating is 4, so sim(i, j) = co-raters / sqrt(n_i * n_j). Movie 100 has 4 raters
    # (users 1-4). Movie 10: 4 raters, one shared (user 1): 1 / sqrt(16) = 0.25. Movie 20: 16
    # raters, two shared (users 1, 2): 2 / sqrt(64) = 0.25. The tie goes to 20, the more
    # co-raters, before the lower id.
    pairs = [(u, 100) for u in (1, 2, 3, 4)] + [(u, 10) for u in (1, 5, 6, 7)]
    pairs += [(u, 20) for u in (1, 2, *range(8, 22))]
    ratings = pd.DataFrame(pairs, columns=["user_id", "movie_id"]).assign(rating=4.0)
    found = neighbours(ratings, floors=[1], max_k=2, min_co_raters=1)
    of_100 = found[found["movie_id"] == 100].sort_values("neighbour_rank")
    assert of_100[["neighbour_id", "similarity", "neighbour_rank"]].values.tolist() == [
        [20, 0.25, 1],
        [10, 0.25, 2],
    ]


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
