"""``python -m python_jobs.tools.jvm_archive``: the archive it writes is really mapped.

The ``local`` dbt profile and :func:`python_jobs.spark.build_spark_session` start their
driver JVMs from the class-data-sharing archive that ``make setup`` writes; it must actually
be used, or every dbt invocation silently loses its head start. (That both drivers get the
same options is ``tests/python_jobs/test_spark.py``.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from python_jobs.spark import jvm_archive_path
from tests.support import PROJECT_ROOT


def test_driver_maps_its_classes_from_the_archive(tmp_path: Path) -> None:
    archive = jvm_archive_path()
    if not archive.is_file():
        pytest.skip(f"no class-data archive at {archive}: `make setup` writes it")
    class_log = tmp_path / "classes.log"
    # -Xshare:on turns "archive unusable" (stale jars, another JDK) into a failed start.
    script = (
        "from python_jobs.spark import build_spark_session\n"
        f"spark = build_spark_session(java_options='-Xshare:on "
        f"-Xlog:class+load=info:file={class_log}')\n"
        "print('rows', spark.range(3).count())\n"
        "spark.stop()\n"
    )
    # Without SPARK_LOCAL_IP, as a fresh shell has it (build_spark_session sets it for local
    # masters, so the driver binds to loopback and Spark does not warn about the host name).
    env = {key: value for key, value in os.environ.items() if key != "SPARK_LOCAL_IP"}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0 and "rows 3" in completed.stdout, (
        f"the driver did not start with -Xshare:on and {archive}:\n{completed.stderr[-3000:]}"
    )
    assert "resolves to a loopback address" not in completed.stderr
    sources = class_log.read_text().splitlines()
    from_archive = [line for line in sources if "source: shared objects file (top)" in line]
    spark_from_archive = [line for line in from_archive if " org.apache.spark." in line]
    print(f"{len(from_archive)} of {len(sources)} classes loaded from {archive.name}")
    assert len(spark_from_archive) > 1000, "Spark's own classes did not come from the archive"
