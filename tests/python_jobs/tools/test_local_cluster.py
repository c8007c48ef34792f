"""``python -m python_jobs.tools.local_cluster``: errors that need no JVM (fast)."""

from __future__ import annotations

import os
import socket
import zipfile
from pathlib import Path

import pytest

from python_jobs.tools import local_cluster
from tests.support import PROJECT_ROOT, dbt_rendered_local_target


def test_start_refuses_a_port_in_use_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = local_cluster.main(
            ["--state-dir", str(tmp_path), "start", "--workers", "0", "--thrift-port", str(port)]
        )
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err == (
        f"error: port 127.0.0.1:{port} (thrift) is already in use; stop what holds it or "
        "choose another port (see --help)"
    )
    assert not (tmp_path / local_cluster.STATE_FILE).exists()


def test_status_and_stop_without_a_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert local_cluster.main(["--state-dir", str(tmp_path), "status"]) == 1
    assert local_cluster.main(["--state-dir", str(tmp_path), "stop"]) == 0
    out = capsys.readouterr().out
    assert out.count(f"No cluster recorded in {tmp_path}") == 2


def test_env_vars_point_dbt_at_the_cluster(tmp_path: Path) -> None:
    config = local_cluster.ClusterConfig(state_dir=tmp_path, thrift_port=10123, connect_port=15123)
    assert local_cluster.env_vars(config) == {
        "DBT_TARGET": "thrift",
        "SPARK_THRIFT_HOST": "127.0.0.1",
        "SPARK_THRIFT_PORT": "10123",
        "SPARK_CONNECT_URL": "sc://127.0.0.1:15123",
    }
    conf = local_cluster.server_conf(config)
    assert conf["spark.cores.max"] == "2"
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path / "warehouse")


def test_the_server_loads_the_spark_connect_plugin_of_the_installed_spark(tmp_path: Path) -> None:
    """The plugin class the server is given exists in pyspark's jars, in its Connect jar."""
    config = local_cluster.ClusterConfig(state_dir=tmp_path)
    plugin = local_cluster.server_conf(config)["spark.plugins"]
    entry = plugin.replace(".", "/") + ".class"
    holders = [
        jar.name
        for jar in sorted((local_cluster.SPARK_HOME / "jars").glob("*.jar"))
        if entry in zipfile.ZipFile(jar).namelist()
    ]
    assert len(holders) == 1 and "connect" in holders[0], (plugin, holders)
    command = local_cluster._server_command(config)
    assert command[command.index(f"spark.plugins={plugin}") - 1] == "--conf"


def test_the_server_takes_the_local_targets_session_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPARK_SHUFFLE_PARTITIONS", raising=False)
    profile = dbt_rendered_local_target(os.environ)
    config = local_cluster.ClusterConfig(state_dir=tmp_path)
    conf = local_cluster.server_conf(config)
    assert conf["spark.sql.shuffle.partitions"] == profile["spark.sql.shuffle.partitions"]
    assert conf["spark.sql.session.timeZone"] == profile["spark.sql.session.timeZone"]
    monkeypatch.setenv("SPARK_SHUFFLE_PARTITIONS", "6")
    assert local_cluster.ClusterConfig(state_dir=tmp_path).shuffle_partitions == 6


def test_every_jvm_of_the_cluster_takes_the_local_targets_jit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPARK_DRIVER_JAVA_OPTIONS", raising=False)
    monkeypatch.setenv("SPARK_DAEMON_JAVA_OPTS", "-Dmine=1")
    monkeypatch.delenv("MOVIELENS_JVM_ARCHIVE", raising=False)
    # dbt's own rendering of the profile: the local driver's class archive (a path relative
    # to the project), its logging, JIT and stack options
    driver = dbt_rendered_local_target(os.environ)["spark.driver.extraJavaOptions"].split()
    archive = "-XX:SharedArchiveFile="
    expected = [
        archive + str(PROJECT_ROOT / option.removeprefix(archive))
        if option.startswith(archive)
        else option
        for option in driver
        if option.split("=")[0]
        in {archive.rstrip("="), "-XX:TieredStopAtLevel", "-XX:ReservedCodeCacheSize"}
        or option.startswith(("-Xss", "-Xlog:cds"))
    ]
    assert f"{archive}{PROJECT_ROOT}/.spark/jvm/spark-classes.jsa" in expected
    assert "-XX:TieredStopAtLevel=1" in expected and len(expected) == 6
    config = local_cluster.ClusterConfig(state_dir=tmp_path)
    conf = local_cluster.server_conf(config)
    assert conf["spark.executor.extraJavaOptions"].split() == expected
    assert conf["spark.driver.extraJavaOptions"].split() == [
        f"-Dderby.system.home={tmp_path.resolve()}",
        *expected,
    ]
    daemons = local_cluster._spark_env(config)["SPARK_DAEMON_JAVA_OPTS"].split()
    assert daemons == ["-Dmine=1", *expected]  # the user's own options stay first

    monkeypatch.setenv("SPARK_DRIVER_JAVA_OPTIONS", "-Xss8m -XX:+UseParallelGC")
    custom = local_cluster.ClusterConfig(state_dir=tmp_path).java_options.split()
    assert custom == [*expected[:3], "-Xss8m"]  # the archive stays, the JIT is the user's
    full = local_cluster.ClusterConfig(state_dir=tmp_path, java_options="")
    assert "spark.executor.extraJavaOptions" in local_cluster.server_conf(full)
    assert local_cluster.server_conf(full)["spark.executor.extraJavaOptions"] == ""
    assert local_cluster._spark_env(full)["SPARK_DAEMON_JAVA_OPTS"] == "-Dmine=1"
