"""``dbt_spark_oss_python.plugin``: dbt finds the plugin, which patches dbt-spark's adapter.

Its submission methods are ``test_submission.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from dbt_common.exceptions import DbtRuntimeError

import dbt_spark_oss_python
from tests.support import PROJECT_ROOT


def test_dbt_discovers_the_plugin() -> None:
    """dbt-core's PluginManager finds the package and its plugin installs the helpers."""
    code = (
        "from dbt.plugins.manager import PluginManager\n"
        "from dbt.adapters.spark.impl import SparkAdapter\n"
        "pm = PluginManager.from_modules('p')\n"
        "print([p.name for p in pm._plugins])\n"
        "print(sorted(SparkAdapter.python_submission_helpers.fget(None)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
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
        # Filled by INSERT OVERWRITE (the project's table materialization): no statistics.
        ("MANAGED", "", 42, 42, True),
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
