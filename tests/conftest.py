"""Shared pytest fixtures: a small local Spark session, the real MovieLens data, dbt runs.

`make test` runs the suite on two xdist workers (`--dist loadgroup`). A fixture is made once
per worker that asks for it, so every test that needs a build fixture below (directly or
through another fixture) goes to one worker, its group in `BUILD_GROUPS`, and the other
tests go by file (a module's fixtures are made once). The build groups' tests are marked
`dbt`, as are the tests of `DBT_FIXTURES` and those that run dbt themselves; `make
test-fast` leaves them out.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import support
from tests.support import DbtRun, assert_dbt_ok, ml_latest_small_vars, movielens_dir, run_dbt

# xdist group -> the session fixtures whose tests share one worker (and so one build each).
BUILD_GROUPS = {
    "demo": {"demo_build", "sql_engines_demo_build"},
    "ml-latest-small": {"ml_latest_small_build", "launched_cluster"},
    "ml-100k": {"ml_100k_build"},
}
# Module -> the build group it joins although it reaches no build. xdist hands the groups out
# by their number of tests, most first: a long module of one test would go last and leave the
# other worker idle until it ends (the clean-clone run of 4d7371b: test_incremental.py's one
# test, 237 s, started last, with the other worker idle for its last 288 s). In a build's
# group it starts with the first wave.
LONG_MODULES = {"test_incremental.py": "ml-100k"}
# dbt's unit tests pin their own vars and read only their fixtures: the data and vars of a
# build change nothing in them, so the demo build runs them and the other builds leave them out.
NO_UNIT_TESTS = ["--exclude", "test_type:unit"]
# Module fixtures of tests/dbt_spark_oss_python/test_submission.py that run dbt or a server.
DBT_FIXTURES = {"session_build", "launched_server"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group (and mark `dbt`) every test by the build fixtures it reaches."""
    for item in items:
        reached = set(getattr(item, "fixturenames", ()))
        groups = [group for group, fixtures in BUILD_GROUPS.items() if reached & fixtures]
        if len(groups) > 1:
            raise pytest.UsageError(
                f"{item.nodeid} needs the builds of {groups}: a test may reach one build "
                "group (tests/conftest.py BUILD_GROUPS), or each worker would build both"
            )
        group = groups[0] if groups else LONG_MODULES.get(item.path.name, item.path.name)
        item.add_marker(pytest.mark.xdist_group(group))
        if groups or reached & DBT_FIXTURES:
            item.add_marker(pytest.mark.dbt)


def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """Under `--dist loadgroup`, stop when xdist did not take the groups (a worker writes them
    into the node ids): each worker would then make every build. pytest 9 moved the node id
    where pytest-xdist 3.8 cannot set it, which doubled the suite's time."""
    if node.config.getoption("dist") != "loadgroup":
        return
    ungrouped = [nodeid for nodeid in ids if "@" not in nodeid]
    if ungrouped:
        pytest.exit(
            f"pytest-xdist did not group {len(ungrouped)} tests (first: {ungrouped[0]}); "
            "install the pinned pytest (pyproject.toml) so that each build is made once",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each phase of each test, with its worker and when it ended, in
    artifacts/test-timeline-<worker>.tsv: where the suite's time goes, worker by worker."""
    if getattr(report, "node", None) is not None:
        return  # xdist's controller, receiving a report that its worker already wrote
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    support.ARTIFACTS_DIR.mkdir(exist_ok=True)
    with (support.ARTIFACTS_DIR / f"test-timeline-{worker}.tsv").open("a") as timeline:
        timeline.write(
            f"{time.time():.1f}\t{report.duration:.1f}\t{report.when}\t{report.nodeid}\n"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    support.CURRENT_TEST = item  # run_dbt refuses to run for a test not marked `dbt`


@pytest.fixture(scope="session")
def ml_latest_small() -> Path:
    return movielens_dir("ml-latest-small", "ratings.csv")


@pytest.fixture(scope="session")
def ml_100k() -> Path:
    return movielens_dir("ml-100k", "u.data")


@pytest.fixture(scope="session")
def spark():
    """A local SparkSession for unit tests: 2 cores, 4 shuffle partitions, UI off."""
    from python_jobs.spark import build_spark_session

    session = build_spark_session(
        app_name="movielens-tests", master="local[2]", shuffle_partitions=4
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtRun]:
    """`dbt build` on the embedded demo seeds: the README's main job."""
    work = tmp_path_factory.mktemp("demo-build")
    run = run_dbt(["build"], spark_dir=work / "spark", work_dir=work)
    assert_dbt_ok(run)
    yield run
    shutil.rmtree(work / "spark", ignore_errors=True)


# The models of the demo's SQL build: those that `knn_engine` and `pair_engine` switch, and
# everything between them and the tables that tests/dbt/test_item_knn.py and
# test_pair_engines.py compare (fct_movie_similarities lies between the pairs and the seed's
# lists). Each `A+,+B` is the intersection of A's descendants with B's ancestors. The similar
# movies (fct_similar_movies and the evaluation it reads) are not built again: they are the
# same SQL over the pair tables that test_pair_engines.py holds equal, row for row, and
# int_matrix_similar_movies, which no engine var switches (a third of this build's time).
SQL_ENGINE_MODELS = [
    "int_movie_pair_scores",
    "int_training_movie_pair_scores",
    "int_item_knn_validation_lists",
]
SQL_ENGINE_COMPARED = [
    "ml_item_knn_recommendations",
    "fct_seed_similar_movies",
    "int_training_movie_pair_scores",  # compared itself; no compared table reads it now
]
SQL_ENGINES_SCHEMA = "movielens_sql_engines"


@pytest.fixture(scope="session")
def sql_engines_demo_build(demo_build: DbtRun) -> DbtRun:
    """The demo seeds' tables that have two engines, built by their SQL definitions: item-kNN
    with `knn_engine: sql`, and the pair aggregates with the default `auto` but a memory bound
    of 1,000 ratings, so that the blocked engine declines and the model's SQL runs instead
    (held equal to `demo_build`'s fast engines in tests/dbt/test_item_knn.py and
    test_pair_engines.py).

    It reuses the demo build's warehouse (its Spark dir: the demo build's dbt process has
    ended, so the embedded metastore is free) in a schema of its own, `SQL_ENGINES_SCHEMA`,
    and builds only the models that these vars switch and those between them and the compared
    tables (`SQL_ENGINE_MODELS`, `SQL_ENGINE_COMPARED`), with their data tests. dbt's `--defer`
    against the demo build's manifest resolves every other ref (the seeds, staging, the
    validated ratings, the splits, dim_movies...) to the demo build's tables: these vars leave
    them as they are and the demo build ran their data tests. So the seeds, staging and their
    tests are not built a second time in a fresh warehouse: about 10% less time and CPU than
    that full second build (the engine models themselves take most of it). `read_table` reads
    this schema's tables; the demo build's teardown removes the whole Spark dir, so this one
    drops nothing."""
    work = demo_build.spark_dir.parent  # demo_build: spark_dir=work / "spark", work_dir=work
    state = work / "target"  # the demo build's manifest.json, for --defer
    if not (state / "manifest.json").is_file():
        raise AssertionError(f"no manifest.json of the demo build in {state}")
    select = [f"{model}+,+{table}" for model in SQL_ENGINE_MODELS for table in SQL_ENGINE_COMPARED]
    run = run_dbt(
        [
            "build",
            "--select",
            *select,
            "--indirect-selection",
            "cautious",
            *NO_UNIT_TESTS,
            # (some engine model x compared table pairs are not connected: an empty term)
            "--warn-error-options",
            '{"silence": ["NoNodesForSelectionCriteria"]}',
            "--defer",
            "--state",
            str(state),
            "--vars",
            "{knn_engine: sql, pair_blocked_max_ratings: 1000}",
        ],
        spark_dir=demo_build.spark_dir,
        work_dir=work / "sql-engines-demo",
        schema=SQL_ENGINES_SCHEMA,
    )
    assert_dbt_ok(run)
    return run


@pytest.fixture(scope="session")
def ml_latest_small_build(
    ml_latest_small: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DbtRun]:
    """`dbt build` on ml-latest-small, the data of the ALS seed, under the seed's protocol."""
    work = tmp_path_factory.mktemp("ml-latest-small-build")
    run = run_dbt(
        ["build", *NO_UNIT_TESTS, "--vars", ml_latest_small_vars(ml_latest_small)],
        spark_dir=work / "spark",
        work_dir=work,
    )
    assert_dbt_ok(run)
    yield run
    shutil.rmtree(work / "spark", ignore_errors=True)


@pytest.fixture(scope="session")
def ml_100k_build(ml_100k: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtRun]:
    """`dbt build` on ml-100k under the default (stratified) protocol, the data of the
    published benchmark. The ALS seed's 20-cell RMSE grid is cut to one cell here: its
    figures are checked on ml-latest-small. Implicit ALS is tuned over two cells (the demo
    build runs its whole default grid), the other ranking recommenders over their whole
    grids, on two validation carvings, the fewest that hold the blend's weights out."""
    work = tmp_path_factory.mktemp("ml-100k-build")
    run = run_dbt(
        [
            "build",
            *NO_UNIT_TESTS,
            "--vars",
            f"{{movielens_path: '{ml_100k}', als_ranks: [10], als_reg_params: [0.1], "
            "validation_carvings: 2, implicit_ranks: [32], implicit_alphas: [2.0, 5.0]}",
        ],
        spark_dir=work / "spark",
        work_dir=work,
    )
    assert_dbt_ok(run)
    yield run
    shutil.rmtree(work / "spark", ignore_errors=True)
