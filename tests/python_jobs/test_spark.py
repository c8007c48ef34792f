"""``python_jobs.spark``: a Python job's session runs with the ``local`` dbt target's settings.

The expectations come from dbt's own rendering of ``profiles/profiles.yml``, not from
``python_jobs.spark``, and the session's settings are read back from a running driver JVM.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from python_jobs.spark import (
    STORAGE_JAVA_OPTIONS,
    jvm_archive_path,
    local_profile_conf,
    local_session_conf,
)
from tests.support import PROJECT_ROOT, dbt_rendered_local_target

STORAGE_KEYS = {
    "spark.sql.warehouse.dir",
    "spark.hadoop.javax.jdo.option.ConnectionURL",
    "spark.checkpoint.dir",
}
# What a deployment would tune through the environment; both drivers must follow it.
TUNED = {
    "SPARK_SHUFFLE_PARTITIONS": "3",
    "SPARK_DRIVER_MEMORY": "1g",
    "SPARK_LOCAL_CORES": "2",
    "SPARK_DRIVER_JAVA_OPTIONS": "-Xss8m -XX:+UseSerialGC",
}


def from_project_root(options: str) -> list[str]:
    """JVM options as the driver gets them when dbt runs from the project root."""
    resolved = []
    for option in shlex.split(options):
        key, _, value = option.partition("=")
        if key.startswith(("-D", "-XX:")) and value.startswith((".spark/", "profiles/")):
            option = f"{key}={PROJECT_ROOT / value}"
        resolved.append(option)
    return resolved


@pytest.mark.parametrize("tuned", [False, True], ids=["defaults", "tuned-by-environment"])
def test_the_profile_is_read_as_dbt_reads_it(monkeypatch: pytest.MonkeyPatch, tuned: bool) -> None:
    for name in TUNED:
        monkeypatch.delenv(name, raising=False)
    if tuned:
        for name, value in TUNED.items():
            monkeypatch.setenv(name, value)
    expected = dbt_rendered_local_target(os.environ)
    ours = local_profile_conf()
    options = "spark.driver.extraJavaOptions"
    assert {k: v for k, v in ours.items() if k != options} == {
        k: v for k, v in expected.items() if k != options
    }
    assert shlex.split(ours[options]) == from_project_root(expected[options])
    session = local_session_conf()
    assert STORAGE_KEYS.isdisjoint(session)
    assert not any(o.startswith(STORAGE_JAVA_OPTIONS) for o in shlex.split(session[options]))
    if tuned:
        assert ours["spark.sql.shuffle.partitions"] == "3"
        assert shlex.split(ours[options])[-2:] == ["-Xss8m", "-XX:+UseSerialGC"]


def test_a_python_job_driver_runs_with_the_profile_settings(tmp_path) -> None:
    """A session built with no arguments, read back from its running driver JVM."""
    env = {key: value for key, value in os.environ.items() if key not in TUNED}
    env.update(SPARK_SHUFFLE_PARTITIONS="3", SPARK_LOCAL_CORES="1")
    script = (
        "import json\n"
        "from python_jobs.spark import build_spark_session\n"
        "spark = build_spark_session()\n"
        "jvm = spark.sparkContext._jvm\n"
        "arguments = jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()"
        ".getInputArguments()\n"
        "keys = ['spark.master', 'spark.driver.memory', 'spark.sql.shuffle.partitions',\n"
        "        'spark.sql.session.timeZone', 'spark.ui.enabled']\n"
        "print(json.dumps({'conf': {k: spark.conf.get(k) for k in keys},\n"
        "                  'jvm': [str(a) for a in arguments]}))\n"
        "spark.stop()\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,  # not the project root: the profile's relative paths must still hold
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    seen = json.loads(completed.stdout.strip().splitlines()[-1])
    expected = dbt_rendered_local_target(env)
    assert seen["conf"] == {key: expected[key] for key in seen["conf"]}
    assert seen["conf"]["spark.sql.shuffle.partitions"] == "3"
    assert seen["conf"]["spark.master"] == "local[1]"
    wanted = [
        option
        for option in from_project_root(expected["spark.driver.extraJavaOptions"])
        if not option.startswith(STORAGE_JAVA_OPTIONS)
    ]
    assert [option for option in wanted if option not in seen["jvm"]] == []
    assert f"-XX:SharedArchiveFile={jvm_archive_path()}" in seen["jvm"]
