"""The two engines of the pair aggregates give the same tables (var `pair_engine`).

`sql` (the self-join, the default) is built by the suite's ml-latest-small build; `blocked`
(sparse products, python_jobs/pair_products.py) is built here on the cosine path alone. Both
are held against each other and the blocked engine's full pair table against scipy.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from tests.dbt.test_cosine_similarity import MIN_CO_RATERS, assert_same_similarities
from tests.support import DbtRun, assert_dbt_ok, run_dbt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def blocked_build(
    ml_latest_small: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DbtRun]:
    work = tmp_path_factory.mktemp("blocked-pairs")
    run = run_dbt(
        [
            "build",
            "--selector",
            "item_similarity",
            "--vars",
            f"{{movielens_path: '{ml_latest_small}', pair_engine: blocked}}",
        ],
        spark_dir=work / "spark",
        work_dir=work,
    )
    assert_dbt_ok(run)
    yield run
    shutil.rmtree(work / "spark", ignore_errors=True)


def all_pair_scores(ratings: pd.DataFrame, min_raters: int) -> pd.DataFrame:
    """Every pair of movies with at least `min_raters` raters each and one co-rater, by
    scipy sparse products over the ratings (the seed's definitions)."""
    counts = ratings.groupby("movieId")["userId"].transform("size")
    ratings = ratings[counts >= min_raters]
    users, user_index = np.unique(ratings["userId"], return_inverse=True)
    movies, movie_index = np.unique(ratings["movieId"], return_inverse=True)
    values = ratings["rating"].to_numpy(dtype=float)
    shape = (len(users), len(movies))
    r = sparse.csr_matrix((values, (user_index, movie_index)), shape=shape)
    b = sparse.csr_matrix((np.ones_like(values), (user_index, movie_index)), shape=shape)
    r2 = r.multiply(r).tocsr()
    num_pairs = sparse.triu(b.T @ b, k=1).tocsr()
    num_pairs.sort_indices()
    mask = num_pairs.copy()
    mask.data[:] = 1.0

    def on_pairs(matrix: sparse.spmatrix) -> np.ndarray:
        masked = mask.multiply(matrix).tocsr()
        masked.sort_indices()
        return masked.data

    coo = num_pairs.tocoo()
    sum_xy, sum_xx, sum_yy = on_pairs(r.T @ r), on_pairs(r2.T @ b), on_pairs(b.T @ r2)
    return pd.DataFrame(
        {
            "movie1_id": movies[coo.row],
            "movie2_id": movies[coo.col],
            "num_pairs": coo.data.astype(np.int64),
            "sum_xy": sum_xy,
            "sum_xx": sum_xx,
            "sum_yy": sum_yy,
            "score": sum_xy / (np.sqrt(sum_xx) * np.sqrt(sum_yy)),
        }
    )


def test_blocked_engine_computes_every_pair_exactly(
    blocked_build: DbtRun, ml_latest_small: Path
) -> None:
    expected = all_pair_scores(pd.read_csv(ml_latest_small / "ratings.csv"), MIN_CO_RATERS)
    assert len(expected) > 2_000_000  # every co-rated pair, not only the filtered ones
    assert_same_similarities(blocked_build.read_table("int_movie_pair_scores_blocked"), expected)
    assert "blocked sparse products" in blocked_build.output


@pytest.mark.parametrize("table", ["fct_movie_similarities", "fct_similar_movies"])
def test_engines_give_equal_tables(
    blocked_build: DbtRun, ml_latest_small_build: DbtRun, table: str
) -> None:
    blocked = blocked_build.read_table(table)
    self_join = ml_latest_small_build.read_table(table)
    key = list(blocked.columns)
    assert len(blocked) == len(self_join) > 0
    pd.testing.assert_frame_equal(
        blocked.sort_values(key).reset_index(drop=True),
        self_join[key].sort_values(key).reset_index(drop=True),
        check_exact=True,
    )
