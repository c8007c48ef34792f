"""``dbt_spark_oss_python.submission``: how a dbt Python model runs on open-source Spark.

End-to-end tests build ``tests/fixtures/python_model_project`` (copied to a tmp dir with the
project's ``macros/python_models.sql``) with the real ``dbt`` CLI (``tests.support.run_dbt``):

* ``session`` target: SQL and Python models in the dbt process (local Spark, Derby metastore
  and warehouse in tmp);
* ``thrift`` target + ``SPARK_CONNECT_URL``: the local cluster tool with no workers
  (``python_jobs.tools.local_cluster``: one Spark JVM serving Thrift and Spark Connect, so
  both share a catalog), SQL through Thrift and Python models through Spark Connect.

The subprocess gets the repository root on ``PYTHONPATH`` so dbt-core's plugin discovery
(``pkgutil.iter_modules``) sees the package even under a strict editable install.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow.dataset as pads
import pytest
from dbt.adapters.spark.connections import SparkConnectionMethod, SparkCredentials
from dbt_common.exceptions import DbtRuntimeError

from dbt_spark_oss_python.submission import (
    SessionPythonJobHelper,
    SparkConnectPythonJobHelper,
    resolve_submission_method,
)
from python_jobs.tools import local_cluster
from python_jobs.tools.local_cluster import Cluster, ClusterConfig
from tests.support import PROJECT_ROOT, DbtRun, free_port, free_ports, run_dbt

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "python_model_project"
MACRO = PROJECT_ROOT / "macros" / "python_models.sql"
LOG4J = PROJECT_ROOT / "profiles" / "log4j2.properties"
SCHEMA = "pymodel"  # the fixture profile's

DBT_TIMEOUT_S = 300
SERVER_START_TIMEOUT_S = 120
# Time allowed between dbt printing its final "Done." line and the process having exited.
EXIT_GRACE_S = 5.0

EXPECTED_SCALED = [(i, 10 * i, 30 * i) for i in range(1, 6)]  # id, value, value * multiplier
EXPECTED_PANDAS = [("a", 1.5, "x"), ("b", 2.5, "x"), ("c", 3.5, "y")]


# --------------------------------------------------------------------------- helpers


def make_project(tmp_path: Path) -> Path:
    """Copy the fixture project to ``tmp_path`` and add the project's Python-model macro."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "macros").mkdir(exist_ok=True)
    shutil.copy(MACRO, project / "macros" / MACRO.name)
    (tmp_path / "spark").mkdir()
    return project


def build_fixture(tmp_path: Path, project: Path, args: list[str], **env: str | None) -> DbtRun:
    """``dbt <args>`` on the fixture project copied to ``tmp_path``."""
    return run_dbt(
        args,
        project_dir=project,
        spark_dir=tmp_path / "spark",
        work_dir=tmp_path,
        schema=SCHEMA,
        timeout=DBT_TIMEOUT_S,
        env={
            "SPARK_CONNECT_URL": None,
            "SPARK_REMOTE": None,
            "PYMODEL_TEST_DIR": str(tmp_path / "spark"),
            "PYMODEL_LOG4J_CONFIG": str(LOG4J),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
            ),
            "DBT_USE_COLORS": "false",
            "SPARK_LOCAL_IP": "127.0.0.1",
            **env,
        },
    )


def table_rows(table_dir: Path, columns: list[str]) -> list[tuple[Any, ...]]:
    """Rows of a table directory (Hive-style partitions included), sorted."""
    files = [p for p in table_dir.rglob("part-*") if not p.name.startswith(".")]
    fmt = "orc" if files and files[0].suffix == ".orc" else "parquet"
    data = pads.dataset(table_dir, format=fmt, partitioning="hive").to_table().to_pylist()
    return sorted(tuple(row[c] for c in columns) for row in data)


def data_files(table_dir: Path) -> list[Path]:
    return [p for p in table_dir.rglob("part-*") if not p.name.startswith(".")]


def thrift_credentials() -> SparkCredentials:
    return SparkCredentials(
        host="localhost", method=SparkConnectionMethod.THRIFT, schema="s", port=10000
    )


# --------------------------------------------------------------------------- unit tests


@pytest.mark.parametrize(
    ("method", "config", "environ", "expected"),
    [
        ("session", {}, {}, "session"),
        ("session", {}, {"SPARK_CONNECT_URL": "sc://h:1"}, "session"),
        ("thrift", {}, {"SPARK_CONNECT_URL": "sc://h:1"}, "spark_connect"),
        ("thrift", {"spark_connect_url": "sc://h:1"}, {}, "spark_connect"),
        ("http", {"cluster_id": "c1"}, {}, "all_purpose_cluster"),
    ],
)
def test_resolve_submission_method(
    method: str, config: dict[str, str], environ: dict[str, str], expected: str
) -> None:
    credentials = SimpleNamespace(method=method, cluster_id=None, token="t")
    model = {"name": "m", "config": config}
    assert resolve_submission_method(model, credentials, "dev", environ) == expected


def test_non_session_target_without_connect_url_fails_with_one_line() -> None:
    model = {"name": "my_py_model", "config": {"spark_connect_url": ""}}
    with pytest.raises(DbtRuntimeError) as info:
        resolve_submission_method(model, thrift_credentials(), "prod", environ={})
    message = info.value.msg
    assert "\n" not in message
    assert "'my_py_model'" in message
    assert "'prod'" in message
    assert "method: thrift" in message
    assert "set SPARK_CONNECT_URL" in message


def test_spark_connect_fails_fast_when_nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyspark.core.context import SparkContext

    # other test modules may have a local SparkContext in this process; not under test here
    monkeypatch.setattr(SparkContext, "_active_spark_context", None)
    url = f"sc://127.0.0.1:{free_port()}"
    helper = SparkConnectPythonJobHelper(
        {"name": "m", "config": {"spark_connect_url": url}}, thrift_credentials()
    )
    started = time.monotonic()
    with pytest.raises(DbtRuntimeError, match=r"'m': cannot reach the Spark Connect server"):
        helper.submit("raise AssertionError('must not run')")
    assert time.monotonic() - started < 10


def test_spark_connect_refused_next_to_a_local_spark_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pyspark.core.context import SparkContext

    monkeypatch.setattr(SparkContext, "_active_spark_context", object())
    helper = SparkConnectPythonJobHelper(
        {"name": "m", "config": {"spark_connect_url": "sc://127.0.0.1:1"}}, thrift_credentials()
    )
    with pytest.raises(DbtRuntimeError, match="local Spark session"):
        helper.submit("raise AssertionError('must not run')")


def test_session_method_refused_on_non_session_target() -> None:
    with pytest.raises(DbtRuntimeError, match="needs a target with method: session"):
        SessionPythonJobHelper({"name": "m", "config": {}}, thrift_credentials())


def test_spark_connect_url_must_be_sc() -> None:
    with pytest.raises(DbtRuntimeError, match="must start with sc://"):
        SparkConnectPythonJobHelper(
            {"name": "m", "config": {"spark_connect_url": "http://h:1"}}, thrift_credentials()
        )


# --------------------------------------------------------------------------- session target


@pytest.fixture(scope="module")
def session_build(
    tmp_path_factory: pytest.TempPathFactory, launched_server: Cluster
) -> tuple[Path, DbtRun]:
    """``dbt build`` of the whole fixture project on the ``session`` target (one JVM).

    ``launched_server`` is only requested so the Spark Connect tests' server boots meanwhile.
    """
    tmp_path = tmp_path_factory.mktemp("session_target")
    project = make_project(tmp_path)
    run = build_fixture(tmp_path, project, ["build", "--target", "session"])
    return run.spark_dir / "warehouse" / f"{SCHEMA}.db", run


def test_session_build_runs_python_models(session_build: tuple[Path, DbtRun]) -> None:
    _, run = session_build
    assert {m: run.status(m) for m in run.results} == {
        "base_numbers": "success",
        "scaled_numbers": "success",
        "pandas_scores": "success",
        "failing_model": "error",
        "missing_table_model": "error",
    }, run.output
    assert run.returncode == 1  # only because of the two models tagged "broken"
    assert run.exit_after_done_s is not None and run.exit_after_done_s < EXIT_GRACE_S


def test_session_spark_dataframe_model_rows_and_parquet(
    session_build: tuple[Path, DbtRun],
) -> None:
    warehouse, _ = session_build
    table = warehouse / "scaled_numbers"
    files = data_files(table)
    assert files and all(p.name.endswith(".parquet") for p in files)  # macro default format
    assert table_rows(table, ["id", "value", "scaled"]) == EXPECTED_SCALED


def test_session_pandas_model_rows_format_and_partitions(
    session_build: tuple[Path, DbtRun],
) -> None:
    warehouse, _ = session_build
    table = warehouse / "pandas_scores"
    assert sorted(p.name for p in table.iterdir() if p.is_dir()) == ["grp=x", "grp=y"]
    files = data_files(table)
    assert files and all(p.suffix == ".orc" for p in files)  # file_format="orc" in the model
    assert table_rows(table, ["name", "score", "grp"]) == EXPECTED_PANDAS


def test_python_model_error_names_model_and_exception(
    session_build: tuple[Path, DbtRun],
) -> None:
    warehouse, run = session_build
    message = run.message("failing_model")
    assert "Python model 'failing_model' failed (session)" in message
    assert "ValueError: multiplier must be positive, got -1" in message
    # user-code traceback, with the line numbers of the model file
    assert 'File "models/failing_model.py", line 9, in model' in message
    assert 'File "models/failing_model.py", line 3, in check' in message
    assert "at org.apache" not in message and "py4j" not in message.lower()
    assert not (warehouse / "failing_model").exists()


def test_spark_error_in_python_model_has_no_java_stack_trace(
    session_build: tuple[Path, DbtRun],
) -> None:
    _, run = session_build
    message = run.message("missing_table_model")
    assert "Python model 'missing_table_model' failed (session): AnalysisException:" in message
    assert "TABLE_OR_VIEW_NOT_FOUND" in message and "no_such_table" in message
    assert 'File "models/missing_table_model.py", line 3, in model' in message
    assert "\tat " not in message and "at org.apache.spark" not in message
    assert len(message) < 3000


# --------------------------------------------------------------------------- Spark Connect


@pytest.fixture(scope="module")
def launched_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One local Spark JVM: Thrift server (dbt SQL) + Spark Connect plugin (Python models).

    Does not wait for it: the session-target build requests this fixture too, so the server
    boots while that build runs. :func:`connect_server` waits for the ports.
    """
    thrift_port, connect_port = free_ports(2)
    config = ClusterConfig(
        state_dir=tmp_path_factory.mktemp("connect_server"),
        thrift_port=thrift_port,
        connect_port=connect_port,
        ui_port=0,
        workers=0,
        worker_cores=1,
        driver_memory="1g",
        shuffle_partitions=2,
    )
    cluster = local_cluster.launch(config, log=lambda _message: None)
    try:
        yield cluster
    finally:
        local_cluster.stop_cluster(cluster, log=lambda _message: None)


@pytest.fixture(scope="module")
def connect_server(launched_server: Cluster) -> Cluster:
    """The launched server, once both its Thrift and Spark Connect ports answer."""
    local_cluster.wait_until_ready(
        launched_server, timeout=SERVER_START_TIMEOUT_S, log=lambda _message: None
    )
    return launched_server


@pytest.fixture(scope="module")
def connect_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp_path = tmp_path_factory.mktemp("thrift_target")
    return tmp_path, make_project(tmp_path)


def build_on_server(
    connect_project: tuple[Path, Path], server: Cluster, args: list[str], **env: str | None
) -> DbtRun:
    tmp_path, project = connect_project
    port = str(server.config.thrift_port)
    return build_fixture(tmp_path, project, args, PYMODEL_THRIFT_PORT=port, **env)


def test_spark_connect_build(connect_server: Cluster, connect_project: tuple[Path, Path]) -> None:
    """Thrift target + SPARK_CONNECT_URL: Python models run through Spark Connect."""
    url = connect_server.config.connect_url
    run = build_on_server(
        connect_project,
        connect_server,
        ["build", "--target", "thrift", "--exclude", "tag:broken"],
        SPARK_CONNECT_URL=url,
    )

    assert run.returncode == 0, run.output
    assert {m: run.status(m) for m in run.results} == {
        "base_numbers": "success",
        "scaled_numbers": "success",
        "pandas_scores": "success",
    }
    # no lingering gRPC threads / sessions keep the dbt process alive
    assert run.exit_after_done_s is not None
    assert run.exit_after_done_s < EXIT_GRACE_S, run.exit_after_done_s

    from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

    spark = RemoteSparkSession.builder.remote(url).create()
    try:
        scaled = spark.sql("select id, value, scaled from pymodel.scaled_numbers").collect()
        pandas_rows = spark.sql("select name, score, grp from pymodel.pandas_scores").collect()
        described = {
            row.col_name: row.data_type
            for row in spark.sql("describe table extended pymodel.scaled_numbers").collect()
        }
    finally:
        spark.stop()
    assert sorted(tuple(r) for r in scaled) == EXPECTED_SCALED
    assert sorted(tuple(r) for r in pandas_rows) == EXPECTED_PANDAS
    assert described["Provider"] == "parquet"
    assert data_files(connect_server.config.warehouse_dir / f"{SCHEMA}.db" / "scaled_numbers")


def test_spark_connect_model_error_is_a_dbt_error(
    connect_server: Cluster, connect_project: tuple[Path, Path]
) -> None:
    run = build_on_server(
        connect_project,
        connect_server,
        ["run", "--target", "thrift", "--select", "failing_model"],
        SPARK_CONNECT_URL=connect_server.config.connect_url,
    )
    assert run.returncode == 1
    message = run.message("failing_model")
    assert "Python model 'failing_model' failed (spark_connect)" in message
    assert "ValueError: multiplier must be positive, got -1" in message
    assert 'File "models/failing_model.py", line 3, in check' in message


def test_thrift_target_without_connect_url_fails_with_one_line(
    connect_server: Cluster, connect_project: tuple[Path, Path]
) -> None:
    run = build_on_server(
        connect_project, connect_server, ["run", "--target", "thrift", "--select", "pandas_scores"]
    )
    assert run.returncode == 1
    message = run.message("pandas_scores").strip()
    last_line = message.splitlines()[-1].strip()
    assert last_line.startswith("Python model 'pandas_scores' cannot run on target 'thrift'")
    assert "set SPARK_CONNECT_URL" in last_line
