"""The two engines of the pair aggregates give the same tables (var `pair_engine`).

`sql` (the self-join, the default) is built by the suite's ml-latest-small build; `blocked`
(sparse products, python_jobs/pair_products.py) is built here on the cosine path alone. Both
are held against each other and the blocked engine's full pair table against scipy.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet
import pytest

from tests.dbt.test_cosine_similarity import MIN_CO_RATERS, assert_same_similarities, pair_scores
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


def test_blocked_engine_computes_every_pair_exactly(
    blocked_build: DbtRun, ml_latest_small: Path
) -> None:
    ratings = pd.read_csv(ml_latest_small / "ratings.csv")
    expected = pair_scores(ratings, min_raters=MIN_CO_RATERS)
    assert len(expected) > 2_000_000  # every co-rated pair, not only the filtered ones
    # The table holds the sums; the view int_movie_pair_scores adds the score, which the
    # fct tables below carry.
    table = blocked_build.read_table("int_movie_pair_scores_blocked")
    assert "score" not in table.columns
    assert_same_similarities(table, expected.drop(columns="score"))
    blocks = re.search(r"(\d+) blocked sparse products", blocked_build.output)
    assert blocks, blocked_build.output
    # On the session target the tasks write the table's parquet files themselves, one a
    # block, in the model's `options` codec (snappy).
    assert f"{len(expected):,} rows written as snappy parquet" in blocked_build.output
    path = blocked_build.table_path("int_movie_pair_scores_blocked")
    files = sorted(f for f in path.iterdir() if f.name[0] not in "._")
    assert len(files) == int(blocks.group(1)), files
    assert all(re.fullmatch(r"part-\d{9}-[0-9a-f]{32}\.snappy\.parquet", f.name) for f in files)
    codecs = {
        pyarrow.parquet.ParquetFile(f).metadata.row_group(0).column(0).compression for f in files
    }
    assert codecs == {"SNAPPY"}


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
