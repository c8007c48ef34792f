"""Item-kNN in SQL against an independent numpy computation on the same split table.

The expected lists are computed here with dense matrix products, not a self-join: with R the
user x movie rating matrix of a fit scope and B its 0/1 pattern, the co-rater counts are
B'B, the pair sums R'R and the full norms the column sums of R*R; a movie's k neighbours
are found by sorting its column, and the users' scores are the product of their 0/1 rows
with the neighbour-similarity matrix. The definition (doc `item_knn`,
models/ml/item_knn.md):

* sim(i, j) = sum_xy(i, j) / sqrt(SS_i * SS_j), over pairs of movies that each have at
  least `min_co_raters` raters in the scope and at least the cell's floor of co-raters;
* the k neighbours of j: highest sim, then more co-raters, then lower movie id;
* score(u, j) = sum of sim(i, j) over the movies i that u rated among j's neighbours;
* the list: top_n unrated scored movies by score desc, then lower id, completed by the
  scope's most-rated unrated movies (more ratings, then lower id) with score 0.

:func:`assert_item_knn_matches_reference` checks a finished build (any data set): the
tuning lists of every cell, the tuning metrics and the chosen cell, and the evaluation and
serving lists, exactly (same movies at the same ranks, scores within 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.reference import reference_ranking
from tests.support import PROJECT_ROOT, DbtRun

LIST_COLUMNS = ["user_id", "recommendation_rank", "movie_id", "score"]
SCORE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class KnnSettings:
    """The vars the item-kNN models read; defaults from dbt_project.yml."""

    top_n: int
    metric_curve_max_k: int
    knn_neighbours: tuple[int, ...]
    knn_min_co_raters: tuple[int, ...]
    min_co_raters: int
    blend_depth: int

    @classmethod
    def from_project(cls, **overrides: object) -> KnnSettings:
        project_vars = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]
        values = {
            "top_n": int(project_vars["top_n"]),
            "metric_curve_max_k": int(project_vars["metric_curve_max_k"]),
            "knn_neighbours": tuple(int(k) for k in project_vars["knn_neighbours"]),
            "knn_min_co_raters": tuple(int(f) for f in project_vars["knn_min_co_raters"]),
            "min_co_raters": int(project_vars["min_co_raters"]),
            "blend_depth": int(project_vars["blend_depth"]),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


class FitScope:
    """One fit scope's ratings as dense matrices, and the item-kNN lists they give."""

    def __init__(self, ratings: pd.DataFrame, *, min_co_raters: int) -> None:
        self.users, user_index = np.unique(ratings["user_id"].to_numpy(), return_inverse=True)
        self.movies, movie_index = np.unique(ratings["movie_id"].to_numpy(), return_inverse=True)
        values = ratings["rating"].to_numpy(dtype=float)
        shape = (len(self.users), len(self.movies))
        rated = np.zeros(shape, dtype=bool)
        rated[user_index, movie_index] = True
        matrix = np.zeros(shape)
        matrix[user_index, movie_index] = values
        self.rated = rated
        self.num_raters = rated.sum(axis=0)
        # Most-rated first, ties to the lower id (movies are sorted by id already).
        self.popularity_order = np.lexsort((self.movies, -self.num_raters))
        eligible = np.flatnonzero(self.num_raters >= min_co_raters)
        self.eligible = eligible
        sub = matrix[:, eligible]
        pattern = rated[:, eligible].astype(float)
        self.co_raters = (pattern.T @ pattern).round().astype(np.int64)
        sum_xy = sub.T @ sub
        sum_squares = (sub * sub).sum(axis=0)
        self.similarity = sum_xy / np.sqrt(np.outer(sum_squares, sum_squares))
        np.fill_diagonal(self.co_raters, 0)

    def neighbour_matrix(self, *, k: int, floor: int) -> np.ndarray:
        """N[i, j] = sim(i, j) when i is one of j's k neighbours, else 0."""
        n = len(self.eligible)
        neighbours = np.zeros((n, n))
        ids = self.movies[self.eligible]
        for j in range(n):
            candidates = np.flatnonzero((self.co_raters[:, j] >= floor) & (np.arange(n) != j))
            order = np.lexsort(
                (ids[candidates], -self.co_raters[candidates, j], -self.similarity[candidates, j])
            )
            chosen = candidates[order[:k]]
            neighbours[chosen, j] = self.similarity[chosen, j]
        return neighbours

    def lists(self, users: Sequence[int], *, k: int, floor: int, top_n: int) -> pd.DataFrame:
        """Every listed user's top_n: scored movies first, completed by popularity."""
        neighbours = self.neighbour_matrix(k=k, floor=floor)
        rated_eligible = self.rated[:, self.eligible].astype(float)
        scores = rated_eligible @ neighbours
        has_score = rated_eligible @ (neighbours > 0).astype(float) > 0
        eligible_ids = self.movies[self.eligible]
        position = {user: i for i, user in enumerate(self.users)}
        rows = []
        for user in users:
            i = position.get(user)
            if i is None:
                listed_ids, listed_scores = [], []
                rated_ids: set[int] = set()
            else:
                rated_ids = set(self.movies[self.rated[i]].tolist())
                scored = np.flatnonzero(has_score[i] & ~self.rated[i, self.eligible])
                order = np.lexsort((eligible_ids[scored], -scores[i, scored]))[:top_n]
                listed_ids = eligible_ids[scored[order]].tolist()
                listed_scores = scores[i, scored[order]].tolist()
            taken = set(listed_ids) | rated_ids
            for movie in self.movies[self.popularity_order]:
                if len(listed_ids) >= top_n:
                    break
                if movie not in taken:
                    listed_ids.append(int(movie))
                    listed_scores.append(0.0)
            for rank, (movie, score) in enumerate(
                zip(listed_ids, listed_scores, strict=True), start=1
            ):
                rows.append((int(user), rank, int(movie), float(score)))
        return pd.DataFrame(rows, columns=LIST_COLUMNS)


def ranking_metrics(lists: pd.DataFrame, relevant: pd.DataFrame, k: int) -> dict[str, float]:
    """precision, recall, NDCG and MAP at k of the lists (tests/reference.py's definitions)."""
    truth = relevant.groupby("user_id")["movie_id"].apply(set).to_dict()
    by_user = {
        user: group.sort_values("recommendation_rank")["movie_id"].tolist()
        for user, group in lists.groupby("user_id")
    }
    metrics = reference_ranking(by_user, truth, k)
    metrics.pop("n_users_evaluated")
    return metrics


def assert_same_lists(actual: pd.DataFrame, expected: pd.DataFrame, *, label: str) -> None:
    """Same users, same movie at every rank, scores within SCORE_TOLERANCE."""
    key = ["user_id", "recommendation_rank"]
    actual = actual[LIST_COLUMNS].sort_values(key).reset_index(drop=True)
    expected = expected[LIST_COLUMNS].sort_values(key).reset_index(drop=True)
    assert len(actual) == len(expected), f"{label}: {len(actual)} rows, expected {len(expected)}"
    differing = actual[
        (actual[key + ["movie_id"]].to_numpy() != expected[key + ["movie_id"]].to_numpy()).any(
            axis=1
        )
    ]
    assert differing.empty, (
        f"{label}: {len(differing)} rows differ, first:\n"
        f"{differing.head(5)}\nexpected:\n{expected.loc[differing.index[:5]]}"
    )
    np.testing.assert_allclose(
        actual["score"], expected["score"], rtol=0, atol=SCORE_TOLERANCE, err_msg=label
    )


def assert_item_knn_matches_reference(
    run: DbtRun, settings: KnnSettings | None = None, *, inputs: DbtRun | None = None
) -> pd.DataFrame:
    """Check a build's item-kNN tables against the numpy computation; return its tuning.

    Reads ml_rating_splits and int_ratings_validated from the build (or from ``inputs``, the
    build whose tables a deferred build read), recomputes every tuning cell's validation
    lists and metrics, the chosen cell (highest validation NDCG@k, ties to the first cell in
    (neighbours, floor) order), and the evaluation and serving lists of that cell, and
    compares them with the build's tables.
    """
    settings = settings or KnnSettings.from_project()
    inputs = inputs or run
    splits = inputs.read_table("ml_rating_splits")
    validated = inputs.read_table("int_ratings_validated")[["user_id", "movie_id", "rating"]]

    train = FitScope(splits[splits["split"] == "train"], min_co_raters=settings.min_co_raters)
    validation = splits[splits["split"] == "validation"][["user_id", "movie_id"]]
    validation_users = np.unique(validation["user_id"])
    actual_lists = run.read_table("int_item_knn_validation_lists")
    actual_tuning = run.read_table("ml_item_knn_tuning")
    expected_tuning = []
    for k in settings.knn_neighbours:
        for floor in settings.knn_min_co_raters:
            expected = train.lists(validation_users, k=k, floor=floor, top_n=settings.top_n)
            cell = actual_lists[(actual_lists["k"] == k) & (actual_lists["min_co_raters"] == floor)]
            assert_same_lists(cell, expected, label=f"tuning lists k={k} floor={floor}")
            expected_tuning.append(
                {"num_neighbours": k, "min_co_raters": floor}
                | ranking_metrics(expected, validation, settings.top_n)
            )
    expected_table = pd.DataFrame(expected_tuning)
    best = expected_table.index[expected_table["ndcg_at_k"].to_numpy().argmax()]
    expected_table["is_best"] = expected_table.index == best

    merged = expected_table.merge(
        actual_tuning, on=["num_neighbours", "min_co_raters"], suffixes=("", "_actual")
    )
    assert len(merged) == len(expected_table) == len(actual_tuning)
    for metric in ["precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k"]:
        np.testing.assert_allclose(
            merged[f"{metric}_actual"], merged[metric], rtol=0, atol=1e-12, err_msg=metric
        )
    assert (merged["is_best_actual"] == merged["is_best"]).all()
    assert (actual_tuning["n_users_evaluated"] == len(validation_users)).all()
    best_cell = expected_table.loc[best]
    k, floor = int(best_cell["num_neighbours"]), int(best_cell["min_co_raters"])

    recommendations = run.read_table("ml_item_knn_recommendations")
    assert set(recommendations["purpose"]) == {"validation", "evaluation", "serving"}
    # validation and serving lists are as deep as the blend reads; test-time lists also
    # reach the metric curves' deepest k
    deep = max(settings.top_n, settings.blend_depth)
    fit = FitScope(splits[splits["split"] != "test"], min_co_raters=settings.min_co_raters)
    test_users = np.unique(splits.loc[splits["split"] == "test", "user_id"])
    assert_same_lists(
        recommendations[recommendations["purpose"] == "evaluation"],
        fit.lists(test_users, k=k, floor=floor, top_n=max(deep, settings.metric_curve_max_k)),
        label=f"evaluation lists k={k} floor={floor}",
    )
    everyone = FitScope(validated, min_co_raters=settings.min_co_raters)
    assert_same_lists(
        recommendations[recommendations["purpose"] == "serving"],
        everyone.lists(np.unique(validated["user_id"]), k=k, floor=floor, top_n=deep),
        label=f"serving lists k={k} floor={floor}",
    )
    # carving c: fitted on the training part without its validation segment, for its users
    validation_lists = recommendations[recommendations["purpose"] == "validation"]
    carvings = sorted(splits["validation_carving"].dropna().astype(int).unique())
    assert sorted(validation_lists["carving"].astype(int).unique()) == carvings
    for carving in carvings:
        held = splits["validation_carving"] == carving
        scope = FitScope(
            splits[(splits["split"] != "test") & ~held], min_co_raters=settings.min_co_raters
        )
        assert_same_lists(
            validation_lists[validation_lists["carving"] == carving],
            scope.lists(np.unique(splits.loc[held, "user_id"]), k=k, floor=floor, top_n=deep),
            label=f"validation lists of carving {carving}",
        )
    return merged


KNN_MODELS = ["int_item_knn_validation_lists", "ml_item_knn_recommendations"]


def test_demo_item_knn_equals_the_numpy_computation(demo_build: DbtRun) -> None:
    for model in KNN_MODELS:  # the default, auto, picks the numpy engine on the session
        assert (
            f"{model}: numpy engine (knn_engine: auto; Python models run on target local)"
            in demo_build.output
        )
    tuning = assert_item_knn_matches_reference(demo_build)
    # A real grid: the cells differ, so the choice means something.
    assert tuning["ndcg_at_k"].nunique() == len(tuning) > 1
    lists = demo_build.read_table("int_item_knn_validation_lists")
    assert (lists["score"] > 0).mean() > 0.9  # mostly scored, not popularity completion
    # The SQL definition's unit tests (whatever the engine, a unit test runs the model's SQL;
    # the other builds leave them out, tests/conftest.py NO_UNIT_TESTS).
    for unit_test in [
        "item_knn_similarity_divides_by_the_full_norms",
        "item_knn_neighbours_are_cut_per_cell",
        "item_knn_completes_short_lists_with_most_rated_movies",
    ]:
        assert demo_build.status(unit_test) == "pass", unit_test


@pytest.mark.dbt
def test_sql_engine_equals_the_numpy_computation(
    sql_engines_demo_build: DbtRun, demo_build: DbtRun
) -> None:
    # The SQL build deferred its inputs (splits, validated ratings) to the demo build's.
    assert_item_knn_matches_reference(sql_engines_demo_build, inputs=demo_build)
    for model in KNN_MODELS:
        assert f"{model}: sql engine (knn_engine: sql)" in sql_engines_demo_build.output


@pytest.mark.dbt
@pytest.mark.parametrize("name", KNN_MODELS)
def test_engines_give_the_same_lists(
    sql_engines_demo_build: DbtRun, demo_build: DbtRun, name: str
) -> None:
    sql_lists = sql_engines_demo_build.read_table(name)
    numpy_lists = demo_build.read_table(name)
    assert len(sql_lists) > 1000
    # A lists table has one list per user and purpose (and validation carving); the tuning
    # lists one per grid cell.
    if "purpose" in sql_lists.columns:
        cells = ["purpose", "carving"]
        sql_lists["carving"] = sql_lists["carving"].fillna(-1)
        numpy_lists["carving"] = numpy_lists["carving"].fillna(-1)
    else:
        cells = ["k", "min_co_raters"]
    assert sql_lists.groupby(cells).ngroups == numpy_lists.groupby(cells).ngroups > 1
    for cell, expected in sql_lists.groupby(cells):
        actual = numpy_lists.set_index(cells).loc[cell].reset_index()
        assert_same_lists(actual, expected, label=f"{name} {cell}")


def test_reference_lists_on_hand_made_ratings() -> None:
    """The numpy reference itself, on rows small enough to follow by hand."""
    ratings = pd.DataFrame(
        [(1, 10, 3.0), (1, 20, 4.0), (2, 10, 4.0), (2, 20, 3.0), (2, 30, 5.0), (3, 30, 1.0)],
        columns=["user_id", "movie_id", "rating"],
    )
    scope = FitScope(ratings, min_co_raters=1)
    # SS_10 = 25, SS_20 = 25, SS_30 = 26; sim(10, 20) = 24 / 25, sim(10, 30) = 20 / sqrt(650).
    lists = scope.lists([1, 3, 4], k=1, floor=1, top_n=2)
    by_user = {user: group for user, group in lists.groupby("user_id")}
    # User 1 rated 10 and 20; 30's nearest neighbour is 10 (20/sqrt(650) > 15/sqrt(650)).
    assert by_user[1]["movie_id"].tolist() == [30]
    assert by_user[1]["score"].iloc[0] == pytest.approx(20 / math.sqrt(650))
    # User 3 rated 30 only, which is nobody's nearest neighbour: popularity completes.
    assert by_user[3]["movie_id"].tolist() == [10, 20]
    assert by_user[3]["score"].tolist() == [0.0, 0.0]
    # User 4 rated nothing: the two most-rated movies (ties to the lower id).
    assert by_user[4]["movie_id"].tolist() == [10, 20]
