"""Helpers shared by the tests: where the data is, running the dbt CLI as a user does, ports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from python_jobs.tools.warehouse import read_table_files

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("MOVIELENS_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data"))
ARTIFACTS_DIR = PROJECT_ROOT / "artifacts"
PROFILE = PROJECT_ROOT / "profiles" / "profiles.yml"
DBT = str(Path(sys.executable).with_name("dbt"))
# The test being set up or run (tests/conftest.py): run_dbt checks that it is marked `dbt`.
CURRENT_TEST: Any = None


def ml_latest_small_vars(path: Path, als_cell: tuple[int, float] | None = None) -> str:
    """The vars of every ml-latest-small build in the suite (local and thrift compare equal).

    The seed's protocol and its full explicit-ALS grid, for the seed's figures (or only
    ``als_cell``, the grid's winner, for a build compared with one that ran the grid); one
    cell of each ranking recommender's grid, whose tuning and quality the ml-100k build
    checks; two validation carvings, the fewest that hold the blend's weights out.
    """
    als = f", als_ranks: [{als_cell[0]}], als_reg_params: [{als_cell[1]}]" if als_cell else ""
    return (
        f"{{movielens_path: '{path}', evaluation_protocol: seed, ease_lambdas: [250.0], "
        "implicit_ranks: [32], implicit_alphas: [2.0], knn_neighbours: [50], "
        f"knn_min_co_raters: [2], validation_carvings: 2{als}}}"
    )


def movielens_dir(name: str, required_file: str) -> Path:
    """Return the directory of a real MovieLens data set, or skip the test saying why."""
    path = DATA_DIR / name
    if not (path / required_file).is_file():
        pytest.skip(
            f"MovieLens {name} not found at {path} (set MOVIELENS_DATA_DIR to the folder "
            f"holding {name}/{required_file})"
        )
    return path


@dataclass(frozen=True)
class DbtRun:
    """One finished dbt invocation, where its warehouse lives and what dbt reported.

    Attributes
    ----------
    results
        ``run_results.json`` by node name (the last part of its unique id); empty when dbt
        wrote none.
    exit_after_done_s
        Seconds between dbt printing its final ``Done.`` line and its process ending (None
        when it printed none): a lingering session or thread shows here.
    """

    args: tuple[str, ...]
    returncode: int
    output: str
    seconds: float
    spark_dir: Path
    schema: str
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    exit_after_done_s: float | None = None

    def table_path(self, table: str) -> Path:
        return self.spark_dir / "warehouse" / f"{self.schema}.db" / table

    def read_table(self, table: str) -> pd.DataFrame:
        """Read a parquet (or ORC) table the build wrote, straight from the warehouse
        directory."""
        path = self.table_path(table)
        if not path.is_dir():
            raise AssertionError(f"table {table} was not written at {path}")
        return read_table_files(path)

    def status(self, node: str) -> str:
        return self.results[node]["status"]

    def message(self, node: str) -> str:
        return self.results[node]["message"] or ""


def run_dbt(
    args: Sequence[str],
    *,
    spark_dir: Path,
    work_dir: Path,
    schema: str = "movielens",
    env: Mapping[str, str | None] | None = None,
    timeout: float = 1500,
    project_dir: Path = PROJECT_ROOT,
) -> DbtRun:
    """Run the dbt CLI from ``project_dir`` as a user would, isolated in ``spark_dir``.

    ``env`` adds to this process's environment; a None value removes the variable. Another
    project than this one (a test fixture) is run with its own ``profiles.yml``. The test
    that runs it must be marked ``dbt`` (`make test-fast` leaves those out).
    """
    if CURRENT_TEST is not None and CURRENT_TEST.get_closest_marker("dbt") is None:
        raise AssertionError(
            f"{CURRENT_TEST.nodeid} runs dbt: mark it (or its module) pytest.mark.dbt, so that "
            "make test-fast leaves it out"
        )
    full_env = {
        **os.environ,
        "MOVIELENS_SPARK_DIR": str(spark_dir),
        "DBT_SCHEMA": schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }
    full_env = {key: value for key, value in full_env.items() if value is not None}
    command = [
        DBT,
        *args,
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    if project_dir != PROJECT_ROOT:
        command += ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=project_dir,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    done_at: list[float] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Done. PASS=" in line:
                done_at.append(time.monotonic())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        reader.join(timeout=10)
        raise AssertionError(
            f"dbt {' '.join(args)} did not finish in {timeout:.0f}s:\n{''.join(lines)[-3000:]}"
        ) from None
    ended = time.monotonic()
    reader.join(timeout=10)
    results = {}
    run_results = work_dir / "target" / "run_results.json"
    if run_results.is_file():
        for result in json.loads(run_results.read_text())["results"]:
            results[result["unique_id"].rsplit(".", 1)[-1]] = result
    run = DbtRun(
        args=tuple(args),
        returncode=returncode,
        output="".join(lines),
        seconds=ended - started,
        spark_dir=spark_dir,
        schema=schema,
        results=results,
        exit_after_done_s=ended - done_at[0] if done_at else None,
    )
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # each xdist worker numbers its dirs
    log_copy = ARTIFACTS_DIR / f"dbt-{worker + '-' if worker else ''}{work_dir.name}.log"
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    log_copy.write_text(run.output)
    return run


def assert_dbt_ok(run: DbtRun) -> None:
    if run.returncode != 0:
        tail = "\n".join(run.output.splitlines()[-60:])
        raise AssertionError(f"dbt {' '.join(run.args)} failed ({run.returncode}):\n{tail}")


def dbt_rendered_local_target(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``local`` target's ``server_side_parameters`` as dbt itself renders them."""
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    set_invocation_context(dict(environ))
    raw = yaml.safe_load(PROFILE.read_text())["movielens"]["outputs"]["local"]
    rendered = ProfileRenderer({}).render_data(raw)["server_side_parameters"]
    return {key: str(value) for key, value in rendered.items()}


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports on 127.0.0.1 (all held open while choosing)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def free_port() -> int:
    """One free TCP port on 127.0.0.1."""
    return free_ports(1)[0]
