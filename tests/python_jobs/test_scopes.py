"""python_jobs.scopes: what each purpose is fitted on and whom it lists, checked by hand."""

from __future__ import annotations

import pytest

from python_jobs.scopes import (
    EVALUATION,
    SERVING,
    TUNING,
    VALIDATION,
    Scope,
    fit_ratings,
    listed_users,
    relevant,
)

SPLITS = "user_id int, movie_id int, rating double, split string, validation_carving int"
# (user, movie, split, carving): users 1-6, each with train, carved validation and test rows
ROWS = [
    (user, 10 * user + n, split, carving)
    for user in range(1, 7)
    for n, (split, carving) in enumerate(
        [("train", None), ("train", 2), ("train", 1), ("validation", 0), ("test", None)]
    )
    if not (user == 6 and split == "test")  # user 6 has no test rating
]


@pytest.fixture(scope="module")
def splits(spark):
    return spark.createDataFrame([(u, m, 4.0, s, c) for u, m, s, c in ROWS], SPLITS)


def _pairs(frame) -> set[tuple[int, int]]:
    return {(r["user_id"], r["movie_id"]) for r in frame.collect()}


@pytest.mark.parametrize("carving", [0, 1, 2])
def test_a_carving_is_fitted_on_the_training_part_without_its_segment(splits, carving):
    expected = {(u, m) for u, m, s, c in ROWS if s != "test" and c != carving}
    for purpose in (TUNING, VALIDATION):
        assert _pairs(fit_ratings(Scope(purpose, carving), splits, splits)) == expected
    held = {(u, m) for u, m, _, c in ROWS if c == carving}
    assert _pairs(relevant(Scope(VALIDATION, carving), splits)) == held
    users = {
        r["user_id"] for r in listed_users(Scope(VALIDATION, carving), splits, splits).collect()
    }
    assert users == {u for u, _ in held}


def test_evaluation_and_serving_scopes(splits, spark):
    training = {(u, m) for u, m, s, _ in ROWS if s != "test"}
    assert _pairs(fit_ratings(Scope(EVALUATION), splits, splits)) == training
    test = {(u, m) for u, m, s, _ in ROWS if s == "test"}
    assert _pairs(relevant(Scope(EVALUATION), splits)) == test
    evaluated = listed_users(Scope(EVALUATION), splits, splits).collect()
    assert sorted(r["user_id"] for r in evaluated) == [1, 2, 3, 4, 5]
    ratings = spark.createDataFrame(
        [(7, 1, 3.0), (8, 2, 5.0)], "user_id int, movie_id int, rating double"
    )
    assert _pairs(fit_ratings(Scope(SERVING), splits, ratings)) == {(7, 1), (8, 2)}
    assert sorted(
        r["user_id"] for r in listed_users(Scope(SERVING), splits, ratings).collect()
    ) == [7, 8]
    with pytest.raises(ValueError, match="holds nothing out"):
        relevant(Scope(SERVING), splits)


def test_sampled_validation_users_are_one_sample_for_lists_and_relevance(splits):
    scope = Scope(VALIDATION, 1)
    first = [r["user_id"] for r in listed_users(scope, splits, splits, max_users=3).collect()]
    again = [r["user_id"] for r in listed_users(scope, splits, splits, max_users=3).collect()]
    assert len(set(first)) == 3 and set(first) <= {1, 2, 3, 4, 5, 6}
    assert sorted(first) == sorted(again)
    held = relevant(scope, splits, max_users=3).collect()
    assert {r["user_id"] for r in held} == set(first)
    # the same users whichever carving a recommender lists (the sample hangs on the id alone)
    other = listed_users(Scope(VALIDATION, 2), splits, splits, max_users=3).collect()
    assert {r["user_id"] for r in other} == set(first)


def test_scopes_refuse_a_wrong_carving():
    with pytest.raises(ValueError, match="purpose must be one of"):
        Scope("train")
    with pytest.raises(ValueError, match="takes a carving only"):
        Scope(EVALUATION, 1)
    with pytest.raises(ValueError, match="takes a carving only"):
        Scope(VALIDATION)
