"""`dbt build` on the embedded demo seeds: the README's main job."""

from __future__ import annotations

import re

import pandas as pd
import yaml

from python_jobs.datasets.generator import (
    DEMO_DEFECTS,
    REASON_DUPLICATE,
    REASON_NULL_KEY,
    REASON_OUT_OF_RANGE,
    REASON_UNKNOWN_MOVIE,
    REASON_UNPARSEABLE,
)
from tests.support import PROJECT_ROOT, DbtRun

# The generator's defect classes and the reject_reason the pipeline gives each.
EXPECTED_REASON = {
    REASON_OUT_OF_RANGE: "rating outside 0.5..5",
    REASON_UNPARSEABLE: "rating missing or not a number",
    REASON_NULL_KEY: "user_id missing or not an integer",
    REASON_DUPLICATE: "duplicate rating of the same (user_id, movie_id); the latest is kept",
    REASON_UNKNOWN_MOVIE: "movie_id not found in movies",
}


def test_every_demo_defect_is_quarantined_with_its_reason(demo_build: DbtRun) -> None:
    rejected = demo_build.read_table("fct_rejected_rows")
    expected = []
    for defect in DEMO_DEFECTS:
        # Keep-the-latest dedupe: for the duplicate, the earlier original row is rejected.
        fields = (
            defect.original
            if defect.original
            else (defect.user_id, defect.movie_id, defect.rating, defect.timestamp)
        )
        expected.append((",".join(fields), EXPECTED_REASON[defect.reason]))
    actual = sorted(zip(rejected["source_values"], rejected["reject_reason"], strict=True))
    assert actual == sorted(expected)
    assert set(rejected["source_table"]) == {"ratings"}


def test_nothing_is_lost_between_the_seed_and_the_validated_ratings(demo_build: DbtRun) -> None:
    raw = pd.read_csv(PROJECT_ROOT / "seeds" / "demo_ratings.csv", dtype=str)
    validated = demo_build.read_table("int_ratings_validated")
    rejected = demo_build.read_table("fct_rejected_rows")
    assert len(validated) + len(rejected) == len(raw)
    assert not validated.duplicated(["user_id", "movie_id"]).any()
    assert validated["rating"].between(0.5, 5).all()
    # The demo seeds are one "file" in the loaded-files table, every line counted.
    loaded = demo_build.read_table("fct_loaded_files")
    assert loaded[["source_file", "load_order", "lines_read", "validated", "quarantined"]].to_dict(
        "records"
    ) == [
        {
            "source_file": "demo_ratings",
            "load_order": 0,
            "lines_read": len(raw),
            "validated": len(validated),
            "quarantined": len(rejected),
        }
    ]


def rating_rows_to_reject(ratings: pd.DataFrame, movies: pd.DataFrame) -> int:
    """How many rows of a ratings seed the checks must reject, by the documented rules.

    Rejected: a user, movie or rating that is missing or not a number, a rating outside
    0.5..5 or off the half-star grid, a movie not in the movies file, and every rating of a
    (user, movie) but the latest.
    """
    user = pd.to_numeric(ratings["userId"], errors="coerce")
    movie = pd.to_numeric(ratings["movieId"], errors="coerce")
    rating = pd.to_numeric(ratings["rating"], errors="coerce")
    known_movies = set(pd.to_numeric(movies["movieId"]))
    valid = (
        user.notna()
        & movie.notna()
        & rating.between(0.5, 5)
        & (rating * 2 == (rating * 2).round())
        & movie.isin(known_movies)
    )
    kept = pd.DataFrame({"user": user, "movie": movie})[valid]
    return int((~valid).sum() + kept.duplicated().sum())


def test_demo_build_reports_the_defects_as_a_warning(demo_build: DbtRun) -> None:
    ratings = pd.read_csv(PROJECT_ROOT / "seeds" / "demo_ratings.csv", dtype=str)
    movies = pd.read_csv(PROJECT_ROOT / "seeds" / "demo_movies.csv", dtype=str)
    rejected = rating_rows_to_reject(ratings, movies)
    # the seed holds the defects the generator says it injected, and nothing else
    assert rejected == len(DEMO_DEFECTS) > 0
    # warn above 0 rejected rating rows; the share stays under max_reject_share, so no error
    project_vars = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]
    assert rejected / len(ratings) < project_vars["max_reject_share"]
    assert f"WARN {rejected} no_rejected_rating_rows" in demo_build.output
    assert "PASS rejected_rating_share_at_most_max_reject_share" in demo_build.output


def test_demo_build_console_shows_no_spark_log_warnings(demo_build: DbtRun) -> None:
    # profiles/log4j2.properties writes Spark's log ("HH:MM:SS WARN Logger: ..." lines,
    # JVM traces) to spark.log in the Spark dir, never to the console.
    # (unanchored: a log line could follow a stage progress bar on the same line)
    spark_log_lines = re.findall(r"\d\d:\d\d:\d\d (?:WARN|ERROR) [\w.$]+: .*", demo_build.output)
    assert spark_log_lines == []
    assert "at org.apache" not in demo_build.output
    # A clean build logs no warning there either that the host name resolves to a loopback
    # address: the driver of the local target binds to loopback.
    spark_log = (demo_build.spark_dir / "spark.log").read_text()
    assert "resolves to a loopback address" not in spark_log


def test_dim_movies_counts_ratings_per_movie(demo_build: DbtRun) -> None:
    movies = demo_build.read_table("dim_movies").set_index("movie_id")
    validated = demo_build.read_table("int_ratings_validated")
    counts = validated.groupby("movie_id").size()
    assert (movies.loc[counts.index, "num_ratings"] == counts).all()
    assert (movies.drop(counts.index)["num_ratings"] == 0).all()
    raw_movies = pd.read_csv(PROJECT_ROOT / "seeds" / "demo_movies.csv", dtype=str)
    assert len(movies) == len(raw_movies)
    first = raw_movies.iloc[0]
    assert movies.loc[int(first["movieId"]), "title"] == first["title"]
