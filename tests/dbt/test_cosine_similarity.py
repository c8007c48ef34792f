"""The cosine seed, end to end through `dbt build`, against an independent computation.

The expected tables are computed here with scipy sparse products over the same CSV (no
pruning, no Spark), following the seed's definitions: pairs co-rated by the same user with
movie1 < movie2, num_pairs = co-raters, score = sum_xy / (sqrt(sum_xx) * sqrt(sum_yy)),
kept when num_pairs >= 10 and score >= 0.95.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from tests.support import PROJECT_ROOT, DbtRun

MIN_CO_RATERS = 10
MIN_SIMILARITY = 0.95
TOP_N = 10


def pair_scores(ratings: pd.DataFrame, min_raters: int = 1, min_pairs: int = 1) -> pd.DataFrame:
    """The seed's pair aggregates via sparse matrix products: every pair of movies each rated
    by at least `min_raters` users, with at least `min_pairs` co-raters.

    With R the user x movie rating matrix and B its 0/1 pattern: num_pairs = B'B,
    sum_xy = R'R, sum_xx[i, j] = sum_u r_ui^2 b_uj = (R*R)'B and sum_yy = B'(R*R).
    """
    raters = ratings.groupby("movieId")["userId"].transform("size")
    ratings = ratings[raters >= min_raters]
    users, user_index = np.unique(ratings["userId"].to_numpy(), return_inverse=True)
    movies, movie_index = np.unique(ratings["movieId"].to_numpy(), return_inverse=True)
    values = ratings["rating"].to_numpy(dtype=float)
    shape = (len(users), len(movies))
    r = sparse.csr_matrix((values, (user_index, movie_index)), shape=shape)
    b = sparse.csr_matrix((np.ones_like(values), (user_index, movie_index)), shape=shape)
    r2 = r.multiply(r).tocsr()
    num_pairs = sparse.triu(b.T @ b, k=1).tocoo()
    keep = num_pairs.data >= min_pairs
    rows, cols = num_pairs.row[keep], num_pairs.col[keep]

    def at(matrix: sparse.spmatrix) -> np.ndarray:
        return np.asarray(matrix.tocsr()[rows, cols]).ravel()

    sum_xy, sum_xx, sum_yy = at(r.T @ r), at(r2.T @ b), at(b.T @ r2)
    return pd.DataFrame(
        {
            "movie1_id": movies[rows],
            "movie2_id": movies[cols],
            "num_pairs": num_pairs.data[keep].astype(np.int64),
            "sum_xy": sum_xy,
            "sum_xx": sum_xx,
            "sum_yy": sum_yy,
            "score": sum_xy / (np.sqrt(sum_xx) * np.sqrt(sum_yy)),
        }
    )


def seed_similarities(ratings: pd.DataFrame) -> pd.DataFrame:
    """The seed's `similarities_filtered`: pairs with enough co-raters and a high score."""
    frame = pair_scores(ratings, min_pairs=MIN_CO_RATERS)
    return frame[frame["score"] >= MIN_SIMILARITY].reset_index(drop=True)


def assert_same_similarities(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    key = ["movie1_id", "movie2_id"]
    actual = actual.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    assert len(actual) == len(expected), (len(actual), len(expected))
    np.testing.assert_array_equal(actual[key].to_numpy(), expected[key].to_numpy())
    np.testing.assert_array_equal(actual["num_pairs"], expected["num_pairs"])
    for column in ["sum_xy", "sum_xx", "sum_yy"]:
        np.testing.assert_allclose(actual[column], expected[column], rtol=0, atol=1e-9)
    if "score" in expected:
        np.testing.assert_allclose(actual["score"], expected["score"], rtol=0, atol=1e-9)


def expected_similar_movies(similarities: pd.DataFrame) -> pd.DataFrame:
    """Top-N per movie over both directions: score desc, num_pairs desc, movie id asc."""
    forward = similarities.rename(
        columns={"movie1_id": "movie_id", "movie2_id": "similar_movie_id"}
    )
    backward = similarities.rename(
        columns={"movie2_id": "movie_id", "movie1_id": "similar_movie_id"}
    )
    both = pd.concat([forward, backward])[["movie_id", "similar_movie_id", "score", "num_pairs"]]
    both = both.sort_values(
        ["movie_id", "score", "num_pairs", "similar_movie_id"],
        ascending=[True, False, False, True],
    )
    both["similarity_rank"] = both.groupby("movie_id").cumcount() + 1
    return both[both["similarity_rank"] <= TOP_N].reset_index(drop=True)


@pytest.mark.dbt
def test_ml_latest_small_similarities_equal_the_seed_computation(
    ml_latest_small_build: DbtRun, ml_latest_small: Path
) -> None:
    ratings = pd.read_csv(ml_latest_small / "ratings.csv")
    expected = seed_similarities(ratings)
    assert len(expected) > 100_000  # the filter keeps a real table, not a handful of rows

    actual = ml_latest_small_build.read_table("fct_movie_similarities")
    assert_same_similarities(actual, expected)


@pytest.mark.dbt
def test_ml_latest_small_similar_movies_rank_and_titles(
    ml_latest_small_build: DbtRun, ml_latest_small: Path
) -> None:
    ratings = pd.read_csv(ml_latest_small / "ratings.csv")
    titles = pd.read_csv(ml_latest_small / "movies.csv").set_index("movieId")["title"]
    expected = expected_similar_movies(seed_similarities(ratings))

    actual = ml_latest_small_build.read_table("fct_seed_similar_movies")
    actual = actual.sort_values(["movie_id", "similarity_rank"]).reset_index(drop=True)
    assert len(actual) == len(expected)
    np.testing.assert_array_equal(
        actual[["movie_id", "similarity_rank", "similar_movie_id"]].to_numpy(),
        expected[["movie_id", "similarity_rank", "similar_movie_id"]].to_numpy(),
    )
    assert (actual["movie_title"] == titles.loc[actual["movie_id"]].to_numpy()).all()
    assert (
        actual["similar_movie_title"] == titles.loc[actual["similar_movie_id"]].to_numpy()
    ).all()
    toy_story = actual[actual["movie_id"] == 1]
    assert list(toy_story["similarity_rank"]) == list(range(1, TOP_N + 1))
    assert (toy_story["movie_title"] == "Toy Story (1995)").all()


@pytest.mark.dbt
def test_ml_latest_small_has_no_rejects_and_all_ratings_validated(
    ml_latest_small_build: DbtRun, ml_latest_small: Path
) -> None:
    ratings = pd.read_csv(ml_latest_small / "ratings.csv")
    validated = ml_latest_small_build.read_table("int_ratings_validated")
    rejected = ml_latest_small_build.read_table("fct_rejected_rows")
    assert len(rejected) == 0
    assert len(validated) == len(ratings) == 100_836
    movies = ml_latest_small_build.read_table("dim_movies")
    assert len(movies) == len(pd.read_csv(ml_latest_small / "movies.csv"))


def test_demo_build_similarities_equal_an_independent_computation(demo_build: DbtRun) -> None:
    ratings = pd.read_csv(PROJECT_ROOT / "seeds" / "demo_ratings.csv", dtype=str)
    # The demo carries deliberate defects; the expected table uses only clean rows, the
    # latest rating of a duplicated (user, movie), and movies present in demo_movies.
    movies = pd.read_csv(PROJECT_ROOT / "seeds" / "demo_movies.csv", dtype=str)
    clean = ratings.assign(
        userId=pd.to_numeric(ratings["userId"], errors="coerce"),
        movieId=pd.to_numeric(ratings["movieId"], errors="coerce"),
        rating=pd.to_numeric(ratings["rating"], errors="coerce"),
        timestamp=pd.to_numeric(ratings["timestamp"], errors="coerce"),
    ).dropna(subset=["userId", "movieId", "rating"])
    clean = clean[clean["rating"].between(0.5, 5)]
    clean = clean[clean["movieId"].isin(pd.to_numeric(movies["movieId"]))]
    clean = clean.sort_values("timestamp").drop_duplicates(["userId", "movieId"], keep="last")
    expected = seed_similarities(clean.astype({"userId": int, "movieId": int}))
    assert len(expected) > 100

    assert_same_similarities(demo_build.read_table("fct_movie_similarities"), expected)
    actual_top = demo_build.read_table("fct_seed_similar_movies")
    top_expected = expected_similar_movies(expected)
    actual_top = actual_top.sort_values(["movie_id", "similarity_rank"]).reset_index(drop=True)
    np.testing.assert_array_equal(
        actual_top[["movie_id", "similarity_rank", "similar_movie_id"]].to_numpy(),
        top_expected[["movie_id", "similarity_rank", "similar_movie_id"]].to_numpy(),
    )
