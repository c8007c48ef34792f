"""dbt Python models on open-source Spark: the ``dbt_spark_oss_python`` plugin.

End-to-end tests build ``tests/fixtures/python_model_project`` (copied to a tmp dir with the
project's ``macros/python_models.sql``) with the real ``dbt`` CLI in a subprocess:

* ``session`` target: SQL and Python models in the dbt process (local Spark, Derby metastore
  and warehouse in tmp);
* ``thrift`` target + ``SPARK_CONNECT_URL``: a small self-contained server (one local Spark
  JVM running the Thrift server with the Spark Connect plugin, so both share a catalog),
  SQL through Thrift and Python models through Spark Connect.

The subprocess gets the repository root on ``PYTHONPATH`` so dbt-core's plugin discovery
(``pkgutil.iter_modules``) sees the package even under a strict editable install.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow.dataset as pads
import pyspark
import pytest
from dbt.adapters.spark.connections import SparkConnectionMethod, SparkCredentials
from dbt_common.exceptions import DbtRuntimeError

import dbt_spark_oss_python
from dbt_spark_oss_python.submission import (
    SessionPythonJobHelper,
    SparkConnectPythonJobHelper,
    resolve_submission_method,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "python_model_project"
MACRO = REPO_ROOT / "macros" / "python_models.sql"
LOG4J = REPO_ROOT / "profiles" / "log4j2.properties"
DBT = Path(sys.executable).with_name("dbt")
SPARK_HOME = Path(pyspark.__file__).resolve().parent

DBT_TIMEOUT_S = 300
SERVER_START_TIMEOUT_S = 120
# Time allowed between dbt printing its final "Done." line and the process having exited.
EXIT_GRACE_S = 5.0

EXPECTED_SCALED = [(i, 10 * i, 30 * i) for i in range(1, 6)]  # id, value, value * multiplier
EXPECTED_PANDAS = [("a", 1.5, "x"), ("b", 2.5, "x"), ("c", 3.5, "y")]


# --------------------------------------------------------------------------- helpers


@dataclass
class DbtRun:
    """Outcome of one ``dbt`` CLI subprocess."""

    returncode: int
    output: str
    exit_after_done_s: float | None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    def status(self, model: str) -> str:
        return self.results[model]["status"]

    def message(self, model: str) -> str:
        return self.results[model]["message"] or ""


def make_project(tmp_path: Path) -> Path:
    """Copy the fixture project to ``tmp_path`` and add the project's Python-model macro."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "macros").mkdir(exist_ok=True)
    shutil.copy(MACRO, project / "macros" / MACRO.name)
    (tmp_path / "spark").mkdir()
    return project


def dbt_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SPARK_CONNECT_URL", "SPARK_REMOTE"}}
    env.update(
        PYMODEL_TEST_DIR=str(tmp_path / "spark"),
        PYMODEL_LOG4J_CONFIG=str(LOG4J),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_USE_COLORS="false",
        SPARK_LOCAL_IP="127.0.0.1",
    )
    env.update(extra)
    return env


def run_dbt(project: Path, args: list[str], env: dict[str, str]) -> DbtRun:
    """Run the dbt CLI; time how long the process lives after its final ``Done.`` line."""
    cmd = [str(DBT), *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    proc = subprocess.Popen(
        cmd,
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    done_at: list[float] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Done. PASS=" in line:
                done_at.append(time.monotonic())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        returncode = proc.wait(timeout=DBT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"dbt {' '.join(args)} did not finish in {DBT_TIMEOUT_S}s:\n{''.join(lines)}")
    exited = time.monotonic()
    reader.join(timeout=10)
    results: dict[str, dict[str, Any]] = {}
    run_results = project / "target" / "run_results.json"
    if run_results.exists():
        for result in json.loads(run_results.read_text())["results"]:
            results[result["unique_id"].rsplit(".", 1)[-1]] = result
    return DbtRun(
        returncode=returncode,
        output="".join(lines),
        exit_after_done_s=exited - done_at[0] if done_at else None,
        results=results,
    )


def table_rows(table_dir: Path, columns: list[str]) -> list[tuple[Any, ...]]:
    """Rows of a table directory (Hive-style partitions included), sorted."""
    files = [p for p in table_dir.rglob("part-*") if not p.name.startswith(".")]
    fmt = "orc" if files and files[0].suffix == ".orc" else "parquet"
    data = pads.dataset(table_dir, format=fmt, partitioning="hive").to_table().to_pylist()
    return sorted(tuple(row[c] for c in columns) for row in data)


def data_files(table_dir: Path) -> list[Path]:
    return [p for p in table_dir.rglob("part-*") if not p.name.startswith(".")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def thrift_credentials() -> SparkCredentials:
    return SparkCredentials(
        host="localhost", method=SparkConnectionMethod.THRIFT, schema="s", port=10000
    )


# --------------------------------------------------------------------------- unit tests


def test_dbt_discovers_the_plugin() -> None:
    """dbt-core's PluginManager finds the package and its plugin installs the helpers."""
    code = (
        "from dbt.plugins.manager import PluginManager\n"
        "from dbt.adapters.spark.impl import SparkAdapter\n"
        "pm = PluginManager.from_modules('p')\n"
        "print([p.name for p in pm._plugins])\n"
        "print(sorted(SparkAdapter.python_submission_helpers.fget(None)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd="/", capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "['SparkOssPythonPlugin']"
    assert out[1] == str(
        sorted(["all_purpose_cluster", "auto", "job_cluster", "session", "spark_connect"])
    )


def test_install_keeps_databricks_helpers_and_defaults_to_auto() -> None:
    from dbt.adapters.spark.impl import SparkAdapter
    from dbt.adapters.spark.python_submissions import (
        AllPurposeClusterPythonJobHelper,
        JobClusterPythonJobHelper,
    )

    dbt_spark_oss_python.install()
    dbt_spark_oss_python.install()  # idempotent
    fake_adapter = SimpleNamespace(config=SimpleNamespace(target_name="dev"))
    helpers = SparkAdapter.python_submission_helpers.fget(fake_adapter)
    assert helpers["job_cluster"] is JobClusterPythonJobHelper
    assert helpers["all_purpose_cluster"] is AllPurposeClusterPythonJobHelper
    assert SparkAdapter.default_python_submission_method.fget(fake_adapter) == "auto"


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


@pytest.mark.parametrize(
    ("method", "params", "preset", "applies", "expected"),
    [
        ("session", {"spark.master": "local[2]"}, None, True, "127.0.0.1"),
        ("session", {}, None, True, "127.0.0.1"),  # pyspark's default master is local[*]
        ("session", {"spark.master": "local[*]"}, "10.0.0.7", True, "10.0.0.7"),  # user's wins
        ("session", {"spark.master": "spark://emr-primary:7077"}, None, False, None),
        ("thrift", {"spark.master": "local[2]"}, None, False, None),
    ],
)
def test_local_session_driver_binds_to_loopback(
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    params: dict[str, str],
    preset: str | None,
    applies: bool,
    expected: str | None,
) -> None:
    from dbt_spark_oss_python.plugin import bind_local_driver_to_loopback

    if preset is None:
        monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
    else:
        monkeypatch.setenv("SPARK_LOCAL_IP", preset)
    credentials = SimpleNamespace(method=method, server_side_parameters=params)
    assert bind_local_driver_to_loopback(credentials) is applies
    assert os.environ.get("SPARK_LOCAL_IP") == expected


CATALOG_INFORMATION = """Database: movielens
Table: t
Owner: root
Type: {kind}
Provider: parquet
{statistics}Schema: root
 |-- movie_id: integer (nullable = true)
 |-- score: double (nullable = true)
"""


@pytest.mark.parametrize(
    ("kind", "statistics", "count", "expected_rows", "counted"),
    [
        # The metastore's placeholder after CREATE TABLE AS SELECT: counted.
        ("MANAGED", "Statistics: 5120 bytes, 0 rows\n", 42, 42, True),
        # The count fails: no rows statistic rather than a false 0.
        ("MANAGED", "Statistics: 5120 bytes, 0 rows\n", DbtRuntimeError("gone"), None, True),
        # After ANALYZE TABLE the metastore's count is real: kept, nothing run.
        ("MANAGED", "Statistics: 5120 bytes, 7 rows\n", 99, 7, False),
        # Views have no statistics: nothing run.
        ("VIEW", "", 99, None, False),
    ],
)
def test_catalog_counts_rows_the_metastore_left_at_zero(
    kind: str,
    statistics: str,
    count: int | Exception,
    expected_rows: int | None,
    counted: bool,
) -> None:
    from dbt.adapters.base.relation import RelationType
    from dbt.adapters.spark.impl import SparkAdapter
    from dbt.adapters.spark.relation import SparkRelation

    dbt_spark_oss_python.install()
    statements: list[str] = []

    def execute(sql: str, fetch: bool = False) -> tuple[None, list[list[int]]]:
        statements.append(sql)
        if isinstance(count, Exception):
            raise count
        return None, [[count]]

    adapter = SparkAdapter.__new__(SparkAdapter)
    adapter.execute = execute
    relation = SparkRelation.create(
        schema="movielens",
        identifier="t",
        type=RelationType.View if kind == "VIEW" else RelationType.Table,
        information=CATALOG_INFORMATION.format(kind=kind, statistics=statistics),
    )
    columns = list(adapter._get_columns_for_catalog(relation))

    assert [column["column_name"] for column in columns] == ["movie_id", "score"]
    assert statements == (["select count(*) from movielens.t"] if counted else [])
    shown = [
        column["stats:rows:value"] if column.get("stats:rows:include") else None
        for column in columns
    ]
    assert shown == [expected_rows, expected_rows]


def test_spark_connect_url_must_be_sc() -> None:
    with pytest.raises(DbtRuntimeError, match="must start with sc://"):
        SparkConnectPythonJobHelper(
            {"name": "m", "config": {"spark_connect_url": "http://h:1"}}, thrift_credentials()
        )


# --------------------------------------------------------------------------- session target


@pytest.fixture(scope="module")
def session_build(
    tmp_path_factory: pytest.TempPathFactory, launched_server: ConnectServer
) -> tuple[Path, DbtRun]:
    """``dbt build`` of the whole fixture project on the ``session`` target (one JVM).

    ``launched_server`` is only requested so the Spark Connect tests' server boots meanwhile.
    """
    tmp_path = tmp_path_factory.mktemp("session_target")
    project = make_project(tmp_path)
    run = run_dbt(project, ["build", "--target", "session"], dbt_env(tmp_path))
    return tmp_path / "spark" / "warehouse" / "pymodel.db", run


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


@dataclass
class ConnectServer:
    thrift_port: int
    connect_port: int
    warehouse: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.connect_port}"


@pytest.fixture(scope="module")
def launched_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectServer]:
    """Start one local Spark JVM: Thrift server (dbt SQL) + Spark Connect plugin (Python).

    Does not wait for it: the session-target build requests this fixture too, so the server
    boots while that build runs. :func:`connect_server` waits for the ports.
    """
    tmp = tmp_path_factory.mktemp("connect_server")
    server = ConnectServer(free_port(), free_port(), tmp / "warehouse", tmp / "server.log")
    java_opts = f"-Dderby.system.home={tmp} -Dlog4j2.configurationFile={LOG4J}"
    conf = {
        "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
        "spark.connect.grpc.binding.port": str(server.connect_port),
        "spark.sql.warehouse.dir": str(server.warehouse),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={tmp / 'metastore_db'};create=true"
        ),
        "spark.ui.enabled": "false",
        "spark.driver.memory": "1g",
        "spark.sql.shuffle.partitions": "2",
        "spark.driver.extraJavaOptions": java_opts,
    }
    cmd = [
        str(SPARK_HOME / "bin" / "spark-submit"),
        *("--master", "local[1]", "--name", "pymodel-test-server"),
        *("--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"),
        *[arg for key, value in conf.items() for arg in ("--conf", f"{key}={value}")],
        *("--hiveconf", f"hive.server2.thrift.port={server.thrift_port}"),
        *("--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1"),
        "spark-internal",
    ]
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1"}
    with server.log.open("w") as out:
        server.proc = subprocess.Popen(
            cmd, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield server
    finally:
        proc = server.proc
        if proc.poll() is None:  # spark-submit execs java: this pid is the server JVM
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="module")
def connect_server(launched_server: ConnectServer) -> ConnectServer:
    """The launched server, once both its Thrift and Spark Connect ports answer."""
    server = launched_server
    assert server.proc is not None
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not (port_open(server.thrift_port) and port_open(server.connect_port)):
        if server.proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(
                f"Thrift/Connect test server did not start:\n{server.log.read_text()[-3000:]}"
            )
        time.sleep(0.5)
    return server


@pytest.fixture(scope="module")
def connect_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp_path = tmp_path_factory.mktemp("thrift_target")
    return tmp_path, make_project(tmp_path)


def thrift_env(tmp_path: Path, server: ConnectServer, **extra: str) -> dict[str, str]:
    return dbt_env(tmp_path, PYMODEL_THRIFT_PORT=str(server.thrift_port), **extra)


def test_spark_connect_build(
    connect_server: ConnectServer, connect_project: tuple[Path, Path]
) -> None:
    """Thrift target + SPARK_CONNECT_URL: Python models run through Spark Connect."""
    tmp_path, project = connect_project
    env = thrift_env(tmp_path, connect_server, SPARK_CONNECT_URL=connect_server.url)
    run = run_dbt(project, ["build", "--target", "thrift", "--exclude", "tag:broken"], env)

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

    spark = RemoteSparkSession.builder.remote(connect_server.url).create()
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
    assert data_files(connect_server.warehouse / "pymodel.db" / "scaled_numbers")


def test_spark_connect_model_error_is_a_dbt_error(
    connect_server: ConnectServer, connect_project: tuple[Path, Path]
) -> None:
    tmp_path, project = connect_project
    env = thrift_env(tmp_path, connect_server, SPARK_CONNECT_URL=connect_server.url)
    run = run_dbt(project, ["run", "--target", "thrift", "--select", "failing_model"], env)
    assert run.returncode == 1
    message = run.message("failing_model")
    assert "Python model 'failing_model' failed (spark_connect)" in message
    assert "ValueError: multiplier must be positive, got -1" in message
    assert 'File "models/failing_model.py", line 3, in check' in message


def test_thrift_target_without_connect_url_fails_with_one_line(
    connect_server: ConnectServer, connect_project: tuple[Path, Path]
) -> None:
    tmp_path, project = connect_project
    env = thrift_env(tmp_path, connect_server)
    run = run_dbt(project, ["run", "--target", "thrift", "--select", "pandas_scores"], env)
    assert run.returncode == 1
    message = run.message("pandas_scores").strip()
    last_line = message.splitlines()[-1].strip()
    assert last_line.startswith("Python model 'pandas_scores' cannot run on target 'thrift'")
    assert "set SPARK_CONNECT_URL" in last_line
