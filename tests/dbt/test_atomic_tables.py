"""Table models are replaced atomically (macros/atomic_table.sql): no rebuild loses a table.

One session-target warehouse, built from ``tests/fixtures/atomic_table_project`` (a SQL and a
Python table model whose rows, run-time failure and write duration are set by vars) with the
project's macros and profile:

1. release 1 is built;
2. release 2 is killed (SIGKILL to dbt and its Spark driver) while both tables are being
   written: both keep release 1's rows on disk. Before the kill, a second dbt command on
   the same metastore fails at once, saying the metastore is in use by that process;
3. release 3 first reads both tables through the metastore (release 1's rows: the kill left
   them queryable), then fails at run time inside both table writes: each model's error
   with its cause in one line, Spark's task errors in its log file, not on the console,
   and both tables keep release 1's rows;
4. release 4 succeeds: the new rows, and nothing left over from 2 and 3 (no staging table
   in the metastore, no directory but the two tables' in the warehouse).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.support import DBT, PROJECT_ROOT, DbtRun, assert_dbt_ok, run_dbt

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "atomic_table_project"
MACROS = ("atomic_table.sql", "python_models.sql")
SCHEMA = "atomic"
TABLES = ("numbers", "numbers_py")
KILL_BUDGET_S = 600.0
SECOND_COMMAND_BUDGET_S = 60.0  # dbt's own start-up and parse; no JVM, no metastore retries
# How profiles/log4j2.properties formats a line (e.g. "12:05:58 ERROR Executor: ...").
SPARK_LOG_LINE = re.compile(r"\d\d:\d\d:\d\d (?:WARN|ERROR) [\w.$]+: .*")

pytestmark = pytest.mark.dbt


def make_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project)
    for name in MACROS:
        shutil.copy(PROJECT_ROOT / "macros" / name, project / "macros" / name)
    return project


def schema_dir(spark_dir: Path) -> Path:
    return spark_dir / "warehouse" / f"{SCHEMA}.db"


def releases(spark_dir: Path, table: str) -> dict[int, int]:
    """Rows per release in the table's directory, read as any parquet reader would."""
    frame = pd.read_parquet(schema_dir(spark_dir) / table)
    return {int(k): int(v) for k, v in frame.groupby("release").size().items()}


def staging_dirs(spark_dir: Path) -> list[Path]:
    return sorted(schema_dir(spark_dir).glob("*__dbt_*"))


def kill_while_writing(
    project: Path, tmp_path: Path, spark_dir: Path, meanwhile: Callable[[int], None]
) -> str:
    """Start release 2 with slow writes; once both tables write, call ``meanwhile`` with
    dbt's pid, then SIGKILL dbt's process group."""
    work = tmp_path / "killed"
    env = {
        **os.environ,
        "MOVIELENS_SPARK_DIR": str(spark_dir),
        "DBT_SCHEMA": SCHEMA,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [
        DBT, "run", "--project-dir", str(project), "--vars", "{release: 2, sleep_ms: 600000}",
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
    ]  # fmt: skip
    log = (tmp_path / "killed.out").open("w+")
    proc = subprocess.Popen(
        command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + KILL_BUDGET_S
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            writing = [d for d in staging_dirs(spark_dir) if (d / "_temporary").is_dir()]
            if len(writing) == len(TABLES):
                break
            time.sleep(0.2)
        assert proc.poll() is None, "dbt ended before both tables were being written"
        assert time.monotonic() < deadline, "the table writes did not start in time"
        meanwhile(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # dbt and the Spark driver JVM it started
        proc.wait()
        time.sleep(1)  # the kernel releases the dead JVM's file locks (Derby's db.lck)
    log.seek(0)
    return log.read()


def test_failed_and_killed_rebuilds_keep_the_old_rows(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    spark_dir = tmp_path / "spark"

    def dbt(name: str, *args: str) -> DbtRun:
        return run_dbt(
            [*args, "--project-dir", str(project)],
            spark_dir=spark_dir,
            work_dir=tmp_path / name,
            schema=SCHEMA,
            env={"DBT_USE_COLORS": "false"},
        )

    assert_dbt_ok(dbt("release-1", "run", "--vars", "{release: 1}"))
    assert {table: releases(spark_dir, table) for table in TABLES} == {
        "numbers": {1: 10}, "numbers_py": {1: 10},
    }  # fmt: skip

    def second_command(pid: int) -> None:
        started = time.monotonic()
        second = dbt("second", "run")
        assert second.returncode != 0
        assert time.monotonic() - started < SECOND_COMMAND_BUDGET_S
        message = f"metastore_db is in use by another process (pid {pid})"
        assert message in second.output, second.output[-2000:]
        assert "at org.apache" not in second.output and "Traceback" not in second.output

    killed_output = kill_while_writing(project, tmp_path, spark_dir, second_command)
    assert "Completed" not in killed_output
    for table in TABLES:
        assert releases(spark_dir, table) == {1: 10}, f"{table} lost its rows to the kill"
    assert len(staging_dirs(spark_dir)) == len(TABLES)  # registered staging tables remain

    failed = dbt("release-3", "run", "--vars", "{release: 3, fail: true, read_first: true}")
    assert "rows read first: numbers 10, numbers_py 10" in failed.output, failed.output[-3000:]
    assert failed.returncode == 1
    lines = failed.output.splitlines()
    for table in TABLES:
        assert releases(spark_dir, table) == {1: 10}, f"{table} lost its rows"
        heading = next(i for i, line in enumerate(lines) if f"Error in model {table} (" in line)
        assert "injected failure in " + table in lines[heading + 1], lines[heading : heading + 3]
    assert staging_dirs(spark_dir) == [], "staging tables of the killed or failed run remain"
    # Spark's task-abort lines and JVM traces go to its log file, not to the console.
    assert SPARK_LOG_LINE.findall(failed.output) == []
    assert "at org.apache" not in failed.output
    assert "Aborting task" in (spark_dir / "spark.log").read_text()

    rebuilt = dbt("release-4", "run", "--vars", "{release: 4}")
    assert_dbt_ok(rebuilt)
    for table in TABLES:
        assert releases(spark_dir, table) == {4: 40}
    assert sorted(p.name for p in schema_dir(spark_dir).iterdir()) == sorted(TABLES)
