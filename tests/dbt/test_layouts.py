"""Every MovieLens layout reaches the same staged names and types; a wrong path fails clearly.

The generated data sets of every layout, fuzzed, are built by test_input_lines.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from python_jobs.datasets.generator import write_dataset
from tests.support import PROJECT_ROOT, DbtRun, assert_dbt_ok, run_dbt


def test_ml_100k_layout(ml_100k_build: DbtRun, ml_100k: Path) -> None:
    """The ml-100k build's staged tables (a build of its own would stage the same files)."""
    run = ml_100k_build
    assert "MovieLens layout ml-100k" in run.output
    expected = pd.read_csv(
        ml_100k / "u.data", sep="\t", names=["user_id", "movie_id", "rating", "ts"]
    )
    validated = run.read_table("int_ratings_validated")
    assert len(validated) == len(expected) == 100_000
    merged = validated.merge(expected, on=["user_id", "movie_id"], validate="one_to_one")
    assert (merged["rating_x"] == merged["rating_y"]).all()
    rated_at_seconds = pd.to_datetime(merged["rated_at"], utc=True).astype("int64") // 10**9
    assert (rated_at_seconds == merged["ts"]).all()
    movies = run.read_table("dim_movies").set_index("movie_id")
    assert len(movies) == 1682
    # u.item line 1: Toy Story, genre flags Animation, Children's, Comedy
    assert movies.loc[1, "title"] == "Toy Story (1995)"
    assert list(movies.loc[1, "genres"]) == ["Animation", "Children's", "Comedy"]
    assert movies.loc[1, "release_year"] == 1995


@pytest.mark.dbt
def test_wrong_path_fails_with_one_line_naming_path_and_files(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    run = run_dbt(
        ["run", "--select", "stg_movielens__ratings", "--vars", f"{{movielens_path: '{missing}'}}"],
        spark_dir=tmp_path / "spark",
        work_dir=tmp_path,
    )
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if f"movielens_path '{missing}'" in line]
    assert len(lines) == 1, run.output[-3000:]
    message = lines[0]
    for expected in ["ratings.csv + movies.csv", "ratings.dat + movies.dat", "u.data + u.item"]:
        assert expected in message
    assert "found: nothing (missing or empty directory)" in message
    assert "at org.apache" not in run.output  # no Java stack trace


def source_view_ddl(work_dir: Path) -> list[str]:
    """The `create or replace view <raw schema>.<entity>` statements of the last dbt.log run."""
    log = (work_dir / "logs" / "dbt.log").read_text()
    last_run = log.rsplit("Running with dbt=", 1)[-1]
    return [
        line.strip()
        for line in last_run.splitlines()
        if line.strip().startswith("create or replace view movielens_raw.")
    ]


@pytest.mark.dbt
def test_source_views_are_reused_until_the_path_changes(tmp_path: Path) -> None:
    """The hook replaces a source view only when what it reads changes, and then always.

    The first path is relative: Spark alone would look for a relative table location under
    the warehouse and find nothing; the README's `movielens_path: ../shared/data/...` must
    read those files."""
    first, second = tmp_path / "first", tmp_path / "second"
    write_dataset(out_dir=first, layout="ml-latest", n_ratings=2000)
    write_dataset(out_dir=second, layout="ml-1m", n_ratings=3000)
    relative = "./" + os.path.relpath(first, PROJECT_ROOT) + "/"  # run_dbt's cwd
    assert relative.startswith("./../")
    spark_dir = tmp_path / "spark"

    def run_on(data_dir: Path | str) -> DbtRun:
        run = run_dbt(
            [
                "run",
                "--select",
                "+int_ratings_validated",
                "--vars",
                f"{{movielens_path: '{data_dir}'}}",
            ],
            spark_dir=spark_dir,
            work_dir=tmp_path,
        )
        assert_dbt_ok(run)
        return run

    def expected_ratings(data_dir: Path, name: str, sep: str) -> int:
        frame = pd.read_csv(
            data_dir / name, sep=sep, engine="python", header=0 if sep == "," else None,
            encoding="iso-8859-1",
        )  # fmt: skip
        return len(frame.iloc[:, :2].drop_duplicates())

    run = run_on(relative)
    # ratings, movies, tags, links, genome_scores, genome_tags, files: all new
    assert len(source_view_ddl(tmp_path)) == 7
    assert f"MovieLens layout ml-latest at {first.resolve()}:" in run.output
    run = run_on(relative)
    assert source_view_ddl(tmp_path) == []  # same files: nothing to redo
    assert (
        len(run.read_table("int_ratings_validated"))
        == expected_ratings(first, "ratings.csv", ",")
        > 1500
    )

    # The first batch: the ratings view now reads the batches too (and sees later ones).
    batch = first / "batches" / "2026-12-07" / "ratings.csv"
    batch.parent.mkdir(parents=True)
    batch.write_text("userId,movieId,rating,timestamp\n990001,1,4.0,1700000000\n")
    run = run_on(relative)
    assert [ddl.split()[4] for ddl in source_view_ddl(tmp_path)] == ["movielens_raw.ratings"]
    assert (
        len(run.read_table("int_ratings_validated"))
        == expected_ratings(first, "ratings.csv", ",") + 1
    )

    # another path and layout: every view whose definition changes is replaced (ratings,
    # movies, tags, links: ML-10M has none; files); the genome's stay empty in both layouts
    run = run_on(second)
    assert len(source_view_ddl(tmp_path)) == 5
    assert len(run.read_table("int_ratings_validated")) == expected_ratings(
        second, "ratings.dat", "::"
    )
