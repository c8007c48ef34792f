"""The README's commands do what it says, on a built warehouse."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import PROJECT_ROOT, DbtRun, run_dbt

README = (PROJECT_ROOT / "README.md").read_text()


def readme_command(prefix: str) -> list[str]:
    """The one README command line that starts with `prefix`, split like a shell would."""
    lines = [line for line in README.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"expected one README line starting with {prefix!r}: {lines}"
    return shlex.split(lines[0])


def test_readme_setup_commands_are_the_makefile_targets() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "make build" in README and "make test" in README
    assert re.search(r"^build: setup\n\t.*dbt build$", makefile, re.M)
    assert re.search(r"^test: setup\n\t.*pytest -n 2 --dist loadgroup$", makefile, re.M)
    fast = r"^test-fast: setup\n\t.*pytest -n 2 --dist loadgroup -m \"not dbt\"$"
    assert re.search(fast, makefile, re.M)
    assert "make test-fast" in README
    assert (PROJECT_ROOT / ".ci" / "run").read_text().strip().endswith("make test")


def test_readme_dbt_show_finds_toy_story_neighbours(demo_build: DbtRun, tmp_path: Path) -> None:
    command = readme_command("dbt show --inline")
    # The demo has no Toy Story: look up the demo's most-rated movie the same way.
    movies = demo_build.read_table("dim_movies").sort_values("num_ratings", ascending=False)
    title = movies.iloc[0]["title"]
    command = [part.replace("Toy Story%", title.replace("'", "''")) for part in command]
    run = run_dbt(command[1:], spark_dir=demo_build.spark_dir, work_dir=tmp_path)
    assert run.returncode == 0, run.output[-2000:]
    similar = demo_build.read_table("fct_similar_movies")
    expected = similar[similar["movie_title"] == title].sort_values("similarity_rank")
    assert len(expected) > 0
    for neighbour in expected["similar_movie_title"].head(3):
        assert neighbour[:15] in run.output


def test_readme_spark_sql_reads_the_same_warehouse(demo_build: DbtRun) -> None:
    command = readme_command("spark-sql --properties-file")
    movies = demo_build.read_table("dim_movies").sort_values("num_ratings", ascending=False)
    title = movies.iloc[0]["title"]
    command = [part.replace("Toy Story%", title.replace("'", "''")) for part in command]
    spark_dir = demo_build.spark_dir
    bin_dir = Path(sys.executable).parent
    executable = str(bin_dir / "spark-sql")
    # as in an activated environment: the launcher finds Spark through `python3` on PATH
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    completed = subprocess.run(
        [
            executable,
            *command[1:3],
            # the README's properties file points at .spark/; this build lives elsewhere
            "--conf",
            f"spark.sql.warehouse.dir={spark_dir / 'warehouse'}",
            "--conf",
            "spark.hadoop.javax.jdo.option.ConnectionURL="
            f"jdbc:derby:;databaseName={spark_dir / 'metastore_db'};create=true",
            *command[3:],
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    similar = demo_build.read_table("fct_similar_movies")
    expected = similar[similar["movie_title"] == title].sort_values("similarity_rank")
    lines = [line.split("\t") for line in completed.stdout.strip().splitlines()]
    assert [int(line[0]) for line in lines] == list(expected["similarity_rank"])
    assert [line[1] for line in lines] == list(expected["similar_movie_title"])


@pytest.mark.dbt
@pytest.mark.parametrize("selector", ["item_similarity", "recommenders", "staging"])
def test_readme_selectors_exist_and_select_their_path(selector: str, tmp_path: Path) -> None:
    assert f"--selector {selector}" in README
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "ls", "--selector", selector,
         "--resource-type", "model", "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs"), "--quiet"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-2000:]
    models = {line.rsplit(".", 1)[-1] for line in completed.stdout.split()}
    expected = {
        "item_similarity": {
            "stg_movielens__ratings",
            "int_movie_pairs",
            "fct_seed_similar_movies",
            "fct_similar_movies",
            "ml_similarity_evaluation",
        },
        "recommenders": {
            "ml_rating_splits",
            "ml_als_grid_search",
            "ml_item_knn_recommendations",
            "ml_ease_recommendations",
            "ml_recommender_evaluation",
            "ml_user_recommendations",
        },
        "staging": {"stg_movielens__ratings", "stg_movielens__movies"},
    }[selector]
    assert expected <= models, models
    if selector == "staging":
        assert all(name.startswith("stg_") for name in models)
    if selector == "item_similarity":
        # The served similar movies are chosen on the split; no recommender is built.
        similarity_ml = {"ml_rating_splits", "ml_similarity_evaluation"}
        assert not any(name.startswith("ml_") for name in models - similarity_ml)


DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_opens_with_the_two_commands_and_the_tour() -> None:
    headings = re.findall(r"^## (.+)$", README, re.M)
    assert headings[:2] == ["Two commands", "A tour for a new analytics engineer"], headings
    intro = README.split("\n## ", 1)[0]
    assert "dbt project on Apache Spark" in intro


def test_readme_links_every_docs_page() -> None:
    linked = {match for match in LINK.findall(README)}
    assert [page.name for page in DOCS if f"docs/{page.name}" not in linked] == []


@pytest.mark.parametrize("page", [PROJECT_ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_relative_links_point_at_files(page: Path) -> None:
    links = [link for link in LINK.findall(page.read_text()) if "://" not in link]
    missing = [link for link in links if not (page.parent / link).exists()]
    assert missing == [], f"{page.name} links to missing files: {missing}"


@pytest.mark.parametrize("page", [PROJECT_ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_documented_python_modules_exist(page: Path) -> None:
    modules = set(re.findall(r"python -m ([\w.]+)", page.read_text()))
    missing = [module for module in sorted(modules) if importlib.util.find_spec(module) is None]
    assert missing == [], f"{page.name} runs modules that do not exist: {missing}"
