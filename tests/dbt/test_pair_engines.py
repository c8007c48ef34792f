"""The two engines of the pair aggregates give the same table (var `pair_engine`).

The default, `auto`, picks the blocked sparse products (python_jobs/pair_products.py) on the
session target: the suite's ml-latest-small build is held to scipy here, and the demo build to
the demo's SQL build (`sql_engines_demo_build`), where a memory bound of 1,000 ratings makes
the blocked engine decline, say so, and the model's SQL, the self-join, run in its place. On
the thrift target without Spark Connect the SQL runs too (tests/cluster/: compared with the
local build's blocked tables).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet
import pytest

from tests.dbt.test_cosine_similarity import MIN_CO_RATERS, assert_same_similarities, pair_scores
from tests.support import DbtRun

PAIR_MODEL = "int_movie_pair_scores"
TRAINING_PAIR_MODEL = "int_training_movie_pair_scores"


@pytest.mark.dbt
def test_auto_runs_the_blocked_engine_and_computes_every_pair_exactly(
    ml_latest_small_build: DbtRun, ml_latest_small: Path
) -> None:
    assert (
        f"{PAIR_MODEL}: blocked engine (pair_engine: auto; Python models run on target local)"
        in ml_latest_small_build.output
    )
    ratings = pd.read_csv(ml_latest_small / "ratings.csv")
    expected = pair_scores(ratings, min_raters=MIN_CO_RATERS)
    assert len(expected) > 2_000_000  # every co-rated pair, not only the filtered ones
    assert_same_similarities(ml_latest_small_build.read_table(PAIR_MODEL), expected)
    blocks = re.search(r"(\d+) blocked sparse products", ml_latest_small_build.output)
    assert blocks, ml_latest_small_build.output
    # On the session target the tasks write the table's parquet files themselves, one a
    # block, in the model's `options` codec (snappy).
    assert f"{len(expected):,} rows written as snappy parquet" in ml_latest_small_build.output
    path = ml_latest_small_build.table_path(PAIR_MODEL)
    files = sorted(f for f in path.iterdir() if f.name[0] not in "._")
    assert len(files) == int(blocks.group(1)), files
    assert all(re.fullmatch(r"part-\d{9}-[0-9a-f]{32}\.snappy\.parquet", f.name) for f in files)
    codecs = {
        pyarrow.parquet.ParquetFile(f).metadata.row_group(0).column(0).compression for f in files
    }
    assert codecs == {"SNAPPY"}


def test_beyond_its_bound_the_blocked_engine_declines_and_the_sql_runs(
    sql_engines_demo_build: DbtRun, demo_build: DbtRun
) -> None:
    ratings = demo_build.read_table("int_ratings_validated")
    eligible = (ratings.groupby("movie_id")["user_id"].transform("size") >= MIN_CO_RATERS).sum()
    output = sql_engines_demo_build.output
    assert (
        f"{PAIR_MODEL}: blocked engine (pair_engine: auto; Python models run on target local)"
        in output
    )
    # Two pair tables decline: the validated ratings' and the training split's.
    lines = [line for line in output.splitlines() if "pair aggregates: " in line]
    assert len(lines) == 2, output[-3000:]
    assert any(
        line.endswith(
            f"pair aggregates: {eligible:,} eligible ratings exceed pair_blocked_max_ratings "
            "(1,000, about 0.0 GB of each Python worker's memory)"
        )
        for line in lines
    ), lines
    for model in (PAIR_MODEL, TRAINING_PAIR_MODEL):
        assert f"{model}: the blocked engine declined (above); running the SQL definition" in (
            output
        )
    # The SQL definition's unit test ran in the demo build (tests/conftest.py NO_UNIT_TESTS).
    assert demo_build.status("pair_scores_follow_the_cosine_formula") == "pass"


@pytest.mark.parametrize(
    "table",
    [
        PAIR_MODEL,
        TRAINING_PAIR_MODEL,
        "fct_movie_similarities",
        "fct_seed_similar_movies",
    ],
)
def test_engines_give_equal_tables(
    sql_engines_demo_build: DbtRun, demo_build: DbtRun, table: str
) -> None:
    self_join = sql_engines_demo_build.read_table(table)
    blocked = demo_build.read_table(table)
    key = list(self_join.columns)
    assert len(blocked) == len(self_join) > 0
    pd.testing.assert_frame_equal(
        blocked[key].sort_values(key).reset_index(drop=True),
        self_join.sort_values(key).reset_index(drop=True),
        check_exact=True,
    )
