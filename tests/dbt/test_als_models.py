"""The ALS seed, end to end through `dbt build` on ml-latest-small under the seed's
protocol (`evaluation_protocol: seed`), against its figures.

Published by the seed: split 60435 / 20052 / 20349, best validation RMSE about 0.895 (0.89
in the text), test RMSE 0.896. The seed's recommendations (`ml_als_recommendations`) are
recomputed here with numpy from the factors the saved model holds, so ranking and exclusion
are checked independently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support import DbtRun

pytestmark = pytest.mark.dbt
TOP_N = 10


def test_split_sizes_equal_the_seed(ml_latest_small_build: DbtRun) -> None:
    splits = ml_latest_small_build.read_table("ml_rating_splits")
    sizes = splits["split"].value_counts().to_dict()
    assert sizes == {"train": 60435, "validation": 20052, "test": 20349}
    registry = ml_latest_small_build.read_table("ml_als_model").iloc[0]
    assert (registry.train_rows, registry.validation_rows, registry.test_rows) == (
        60435,
        20052,
        20349,
    )


def test_grid_search_reproduces_the_seed_rmse(ml_latest_small_build: DbtRun) -> None:
    grid = ml_latest_small_build.read_table("ml_als_grid_search")
    assert len(grid) == 20
    assert set(grid["rank"]) == {6, 8, 10, 12}
    assert set(grid["reg_param"]) == {0.05, 0.1, 0.2, 0.4, 0.8}
    best = grid[grid["is_best"]]
    assert len(best) == 1
    assert best["validation_rmse"].iloc[0] == grid["validation_rmse"].min()
    assert best["validation_rmse"].iloc[0] == pytest.approx(0.895, abs=0.005)

    evaluation = ml_latest_small_build.read_table("ml_recommender_evaluation").set_index(
        "recommender"
    )
    assert evaluation.loc["als", "rmse"] == pytest.approx(0.896, abs=0.005)
    assert evaluation.loc["als", "mae"] < evaluation.loc["als", "rmse"]


def test_saved_model_is_the_grids_winner(ml_latest_small_build: DbtRun) -> None:
    """The saved model is the chosen fit itself: its own RMSEs, recomputed here from its
    saved factors, equal the grid's figures for the best cell."""
    grid = ml_latest_small_build.read_table("ml_als_grid_search")
    best = grid[grid["is_best"]].iloc[0]
    registry = ml_latest_small_build.read_table("ml_als_model").iloc[0]
    assert (registry["rank"], registry["reg_param"]) == (best["rank"], best["reg_param"])
    users = factors(registry.model_path, "userFactors")
    items = factors(registry.model_path, "itemFactors")
    splits = ml_latest_small_build.read_table("ml_rating_splits")
    for split, column in (("validation", "validation_rmse"), ("train", "train_rmse")):
        part = splits[
            (splits["split"] == split)
            & splits["user_id"].isin(users.index)
            & splits["movie_id"].isin(items.index)
        ]
        predicted = np.einsum(
            "ij,ij->i",
            np.stack(users.loc[part["user_id"]].to_numpy()),
            np.stack(items.loc[part["movie_id"]].to_numpy()),
        )
        rmse = float(np.sqrt(np.mean((part["rating"].to_numpy() - predicted) ** 2)))
        assert registry[column] == pytest.approx(rmse, rel=1e-5), column
        assert registry[column] == pytest.approx(best[column], rel=1e-9), column


def test_evaluation_shows_popularity_ranks_better(ml_latest_small_build: DbtRun) -> None:
    evaluation = ml_latest_small_build.read_table("ml_recommender_evaluation").set_index(
        "recommender"
    )
    assert set(evaluation.index) == {
        "als",
        "popularity",
        "item_knn",
        "ease",
        "implicit_als",
        "blend",
    }
    assert (evaluation["k"] == TOP_N).all()
    assert np.isnan(evaluation.loc["popularity", "rmse"])
    # Explicit-rating ALS ranks worse than popularity on MovieLens; the table must show it.
    assert evaluation.loc["popularity", "precision_at_k"] > evaluation.loc["als", "precision_at_k"]
    for metric in ["precision_at_k", "recall_at_k", "ndcg_at_k", "map_at_k", "catalog_coverage"]:
        assert evaluation[metric].between(0, 1).all(), metric
    # Every user with a test rating is evaluated.
    splits = ml_latest_small_build.read_table("ml_rating_splits")
    test_users = splits.loc[splits["split"] == "test", "user_id"].nunique()
    assert (evaluation["n_users_evaluated"] == test_users).all()


def factors(model_path: str, part: str) -> pd.DataFrame:
    frame = pd.read_parquet(Path(model_path.removeprefix("file:")) / part)
    return frame.set_index("id")["features"].apply(np.asarray)


def test_recommendations_are_the_top_unrated_movies_by_model_factors(
    ml_latest_small_build: DbtRun, ml_latest_small: Path
) -> None:
    registry = ml_latest_small_build.read_table("ml_als_model").iloc[0]
    users = factors(registry.model_path, "userFactors")
    items = factors(registry.model_path, "itemFactors")
    item_ids = items.index.to_numpy()
    item_matrix = np.stack(items.to_numpy())
    ratings = pd.read_csv(ml_latest_small / "ratings.csv")
    rated = ratings.groupby("userId")["movieId"].apply(set)
    titles = pd.read_csv(ml_latest_small / "movies.csv").set_index("movieId")["title"]

    recommendations = ml_latest_small_build.read_table("ml_als_recommendations")
    assert recommendations["user_id"].nunique() == ratings["userId"].nunique() == 610
    assert recommendations.groupby("user_id").size().eq(TOP_N).all()
    assert np.isfinite(recommendations["prediction"]).all()
    assert (recommendations["title"] == titles.loc[recommendations["movie_id"]].to_numpy()).all()

    checked = 0
    for user_id, group in recommendations.groupby("user_id"):
        group = group.sort_values("recommendation_rank")
        assert list(group["recommendation_rank"]) == list(range(1, TOP_N + 1))
        assert not set(group["movie_id"]) & rated[user_id]
        if user_id not in users.index:
            assert (group["recommendation_source"] == "popularity").all()
            continue
        assert (group["recommendation_source"] == "als").all()
        scores = item_matrix @ users.loc[user_id]
        candidates = ~np.isin(item_ids, list(rated[user_id]))
        order = np.lexsort((item_ids[candidates], -scores[candidates]))[:TOP_N]
        np.testing.assert_array_equal(group["movie_id"], item_ids[candidates][order])
        np.testing.assert_allclose(group["prediction"], scores[candidates][order], rtol=1e-5)
        checked += 1
    assert checked > 500
