"""The pair sums follow new ratings incrementally and stay exactly a full rebuild.

A small ml-latest data set is built once; batches of ratings then arrive one run at a time
(`batches/<batch>/ratings.csv`), and after every run `int_movie_pair_scores` and
`fct_movie_similarities` are compared with scipy sparse products over the ratings a pandas
replay of the files keeps (tests/dbt/test_cosine_similarity.py's reference): same pairs,
equal counts and sums, scores within 1e-9. The batches hold, in turn:

1. a new user, re-ratings that move pairs across the 0.95 / 10 filters (the data set is
   checked to make a pair enter and one leave), a movie rated for the first time by too few
   users to be paired, and bad lines (quarantined, nothing else changes);
2. the first batch again (repeats: the table is left as it is);
3. ratings that lift that movie over `min_co_raters` raters: its pairs with the ratings of
   users who did not change come in.

The updates are SQL: with `pair_engine: sql` new ratings update the table; with the blocked
engine they rebuild it (measured faster, benchmarks/incremental_batch.py). One sequence of
runs covers every way the table is built: the blocked engine builds the first table; the
first batch's SQL update is killed (SIGKILL to dbt and its Spark driver) while Spark writes
it, and the table keeps its rows and its record of the ratings it covers, so the next run
applies the batch once and leaves no staging table behind; the copied batch leaves the table
as it is; the blocked engine rebuilds it for the third batch; a changed `min_co_raters`
rebuilds it in full (the table records the var); `--full-refresh` at the end rebuilds it from
scratch, equal to the table before. (The SQL engine's first build is the demo's SQL-engine
build, tests/conftest.py.) `max_reject_share` is raised: a copied batch is all repeats.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.dbt.test_cosine_similarity import MIN_CO_RATERS, MIN_SIMILARITY, pair_scores
from tests.support import DBT, PROJECT_ROOT, DbtRun, assert_dbt_ok, run_dbt

pytestmark = pytest.mark.dbt

# the data tests of the models selected, not those that also read models left out; dbt's
# unit tests run in the demo build (tests/conftest.py)
SELECTION = [
    "--select", "+fct_movie_similarities", "+int_rating_versions",
    "--indirect-selection", "cautious", "--exclude", "test_type:unit",
]  # fmt: skip
USERS = 30
MOVIES = 12
LATE_MOVIE = 13  # in movies.csv, unrated by the data set's file
EPOCH = 1_500_000_000


def base_ratings(seed: int = 5) -> pd.DataFrame:
    """Each of 30 users rates each of 12 movies with probability 0.55, high ratings: pairs of
    about 9 co-raters and scores near 0.95, where the filters cut."""
    rng = np.random.default_rng(seed)
    rows = [
        (user, movie, float(rng.choice([3.5, 4.0, 4.5, 5.0])), EPOCH + user * 100 + movie)
        for user in range(1, USERS + 1)
        for movie in range(1, MOVIES + 1)
        if rng.random() < 0.55
    ]
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])


def write_csv(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("userId,movieId,rating,timestamp\n" + "".join(f"{line}\n" for line in lines))


def first_batch(base: pd.DataFrame) -> list[str]:
    """A new user who rates, among others, the two movies of the most similar pair one
    co-rater short of the floor (so that it enters the filters); re-ratings of users 1 and 2
    (later times, lower); users 5 and 6 rating a movie they had not; a first rating of the
    late movie by 4 users; 3 bad lines."""
    pairs = pair_scores(base)
    short = pairs[pairs["num_pairs"] == MIN_CO_RATERS - 1].sort_values("score")
    assert not short.empty, "the data set has no pair one co-rater short of the floor"
    entering = {int(short["movie1_id"].iloc[-1]), int(short["movie2_id"].iloc[-1])}
    movies = sorted(entering | {1, 2, 3})
    lines = [f"{USERS + 1},{movie},5.0,{EPOCH + 10**6 + movie}" for movie in movies]
    for user in (1, 2):
        for movie in base.loc[base["userId"] == user, "movieId"].head(3):
            lines.append(f"{user},{movie},0.5,{EPOCH + 2 * 10**6 + movie}")
    for user in (5, 6):  # a first rating of a movie already paired, by users with others
        unrated = sorted(
            set(range(1, MOVIES + 1)) - set(base.loc[base["userId"] == user, "movieId"])
        )
        lines.append(f"{user},{unrated[0]},4.5,{EPOCH + 2 * 10**6 + user}")
    lines += [f"{user},{LATE_MOVIE},4.0,{EPOCH + 3 * 10**6 + user}" for user in range(1, 5)]
    lines += ["-3,1,4.0,1500000000", "4,2,7.0,1500000000", ""]
    return lines


def third_batch() -> list[str]:
    """The late movie rated by 10 more users, none of whom changed before."""
    return [f"{user},{LATE_MOVIE},4.5,{EPOCH + 4 * 10**6 + user}" for user in range(11, 21)]


def replayed(data_dir: Path) -> pd.DataFrame:
    """The ratings kept after every file, in load order: the data set's file, then the
    batches by name. Valid lines only; the latest time wins, the first loaded at equal times."""
    paths = [data_dir / "ratings.csv", *sorted((data_dir / "batches").glob("*/ratings.csv"))]
    frames = []
    for order, path in enumerate(paths):
        frame = pd.read_csv(path, skip_blank_lines=True)
        frame["order"] = order
        frames.append(frame)
    ratings = pd.concat(frames, ignore_index=True)
    ratings = ratings[
        (ratings["userId"] > 0) & ratings["rating"].between(0.5, 5) & (ratings["movieId"] > 0)
    ]
    ratings = ratings.sort_values(["timestamp", "order"], ascending=[False, True])
    return ratings.drop_duplicates(["userId", "movieId"])[["userId", "movieId", "rating"]]


def keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["movie1_id", "movie2_id"]).reset_index(drop=True)


def expected_tables(
    data_dir: Path, min_raters: int = MIN_CO_RATERS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    pairs = pair_scores(replayed(data_dir), min_raters=min_raters)
    filtered = pairs[(pairs["num_pairs"] >= min_raters) & (pairs["score"] >= MIN_SIMILARITY)]
    return keyed(pairs), keyed(filtered)


def assert_equal_tables(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    actual = keyed(actual)
    assert len(actual) == len(expected), (len(actual), len(expected))
    for column in ["movie1_id", "movie2_id", "num_pairs"]:
        np.testing.assert_array_equal(actual[column].to_numpy(), expected[column].to_numpy())
    for column in ["sum_xy", "sum_xx", "sum_yy"]:  # multiples of 0.25: exact
        np.testing.assert_array_equal(actual[column].to_numpy(), expected[column].to_numpy())
    np.testing.assert_allclose(actual["score"], expected["score"], rtol=0, atol=1e-9)


def dbt_args(
    data_dir: Path, engine: str, *extra: str, min_raters: int = MIN_CO_RATERS
) -> list[str]:
    variables = (
        f"{{movielens_path: '{data_dir}', pair_engine: {engine}, max_reject_share: 0.5, "
        f"min_co_raters: {min_raters}}}"
    )
    return ["build", *SELECTION, *extra, "--vars", variables]


def build(
    tmp_path: Path, data_dir: Path, engine: str, *extra: str, min_raters: int = MIN_CO_RATERS
) -> DbtRun:
    args = dbt_args(data_dir, engine, *extra, min_raters=min_raters)
    run = run_dbt(args, spark_dir=tmp_path / "spark", work_dir=tmp_path)
    assert_dbt_ok(run)
    return run


def kill_during_update(tmp_path: Path, data_dir: Path, engine: str) -> str:
    """Run the build and SIGKILL dbt and its Spark driver while Spark writes the pair sums'
    update (the staging table's `_temporary` directory exists)."""
    spark_dir = tmp_path / "spark"
    schema_dir = spark_dir / "warehouse" / "movielens.db"
    work = tmp_path / "killed"
    env = {**os.environ, "MOVIELENS_SPARK_DIR": str(spark_dir), "DBT_SCHEMA": "movielens",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}  # fmt: skip
    command = [DBT, *dbt_args(data_dir, engine), "--target-path", str(work / "target"),
               "--log-path", str(work / "logs")]  # fmt: skip
    log = (tmp_path / "killed.out").open("w+")
    proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 600
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if list(schema_dir.glob("int_movie_pair_scores__dbt_new_????????/_temporary")):
                break
            time.sleep(0.01)
        assert proc.poll() is None, "dbt ended before the update was written"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # dbt and the Spark driver JVM it started
        proc.wait()
        time.sleep(1)  # the kernel releases the dead JVM's file locks (Derby's db.lck)
    log.seek(0)
    return log.read()


def assert_matches_files(
    run: DbtRun, data_dir: Path, min_raters: int = MIN_CO_RATERS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    pairs, filtered = expected_tables(data_dir, min_raters)
    assert_equal_tables(run.read_table("int_movie_pair_scores"), pairs)
    assert_equal_tables(run.read_table("fct_movie_similarities"), filtered)
    return pairs, filtered


def pair_set(frame: pd.DataFrame) -> set[tuple[int, int]]:
    return set(zip(frame["movie1_id"], frame["movie2_id"], strict=True))


def test_batches_update_the_pair_sums_exactly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    base = base_ratings()
    base.to_csv(data_dir / "ratings.csv", index=False)
    titles = [f"{movie},Movie {movie} (1999),Drama" for movie in range(1, LATE_MOVIE + 1)]
    (data_dir / "movies.csv").write_text("movieId,title,genres\n" + "\n".join(titles) + "\n")

    run = build(tmp_path, data_dir, "blocked")
    assert "int_movie_pair_scores: full build (first build)" in run.output
    _, filtered_before = assert_matches_files(run, data_dir)
    first_table = run.read_table("int_movie_pair_scores")

    # the first batch's update, killed while Spark writes it: the table keeps its rows
    write_csv(data_dir / "batches" / "2026-12-01" / "ratings.csv", first_batch(base))
    killed = kill_during_update(tmp_path, data_dir, "sql")
    assert "int_movie_pair_scores: incremental update" in killed, killed[-3000:]
    assert "Completed" not in killed
    assert_equal_tables(run.read_table("int_movie_pair_scores"), keyed(first_table))

    # the table still records only the data set's file: the batch is applied now, and once
    run = build(tmp_path, data_dir, "sql")
    assert (
        "int_movie_pair_scores: incremental update, ratings through the data set's file -> "
        "batches/2026-12-01" in run.output
    ), run.output[-3000:]
    pairs, filtered = assert_matches_files(run, data_dir)
    # the data exercise the filters both ways, and the late movie is not paired yet
    assert pair_set(filtered) - pair_set(filtered_before), "no pair entered the filters"
    assert pair_set(filtered_before) - pair_set(filtered), "no pair left the filters"
    assert LATE_MOVIE not in set(pairs["movie2_id"])
    assert not list(run.table_path("int_movie_pair_scores").parent.glob("*__dbt_*"))

    shutil.copytree(data_dir / "batches" / "2026-12-01", data_dir / "batches" / "2026-12-02")
    run = build(tmp_path, data_dir, "sql")
    assert "int_movie_pair_scores: up to date" in run.output, run.output[-3000:]
    assert_matches_files(run, data_dir)

    # new ratings with the blocked engine: it rebuilds the table (faster than the update at
    # scale)
    write_csv(data_dir / "batches" / "2026-12-03" / "ratings.csv", third_batch())
    run = build(tmp_path, data_dir, "blocked")
    assert "int_movie_pair_scores: full build (new ratings; the blocked" in run.output
    pairs, _ = assert_matches_files(run, data_dir)
    # now paired; the ratings of users 1-4 (first batch, unchanged since) are in its sums
    assert (pairs["movie2_id"] == LATE_MOVIE).any()
    rebuilt = run.read_table("int_movie_pair_scores")

    # a changed co-rater floor changes which movies are paired: rebuilt, not updated
    run = build(tmp_path, data_dir, "sql", min_raters=MIN_CO_RATERS - 2)
    assert "int_movie_pair_scores: full build (vars changed" in run.output
    assert_matches_files(run, data_dir, MIN_CO_RATERS - 2)

    run = build(tmp_path, data_dir, "blocked", "--full-refresh")
    assert "int_movie_pair_scores: full build (--full-refresh)" in run.output
    assert_equal_tables(run.read_table("int_movie_pair_scores"), keyed(rebuilt))
