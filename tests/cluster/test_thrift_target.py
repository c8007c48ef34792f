"""dbt's ``thrift`` target on a real Spark standalone cluster (master + two workers).

One cluster per module (``python_jobs.tools.local_cluster``, free ports, state in a tmp dir),
always stopped at the end. It boots while the ``local`` reference build
(``ml_latest_small_build``) runs. Then:

* ``dbt run --target thrift`` on ml-latest-small gives the same tables as the ``local``
  target's ``dbt build`` (``THRIFT_SELECTION``: every SQL model of the cosine path and the
  quarantine, and Python models of each kind: Spark ML fits, numpy in Spark tasks; their
  data and unit tests ran in the local build): per table the row count and an
  order-independent checksum of the rows (floats rounded to 9 decimals; wall times and
  timestamps left out, model paths taken relative to the warehouse). Tables of the ALS
  models (``ml_*``) may differ in floating point between a 2-executor cluster and
  ``local[*]``; they are compared with a tolerance instead when their checksums differ,
  and the test prints which ones;
* a worker killed (with its executor) while ``fct_movie_similarities`` aggregates: the run
  still succeeds with identical output; the worker is restarted afterwards;
* every socket the cluster's processes (master, workers, executors, server) listen on is on
  loopback;
* table models are replaced atomically on this target too: a rebuild failing at run time
  (SQL through Thrift, Python through Spark Connect) keeps the old rows, the next one shows
  the new rows and leaves no staging table;
* a stopped server: ``dbt debug`` / ``dbt run`` fail within seconds naming host:port.
"""

from __future__ import annotations

import ipaddress
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from python_jobs.tools import local_cluster
from python_jobs.tools.local_cluster import Cluster, ClusterConfig
from tests.dbt.test_atomic_tables import TABLES, make_project, releases, staging_dirs
from tests.support import (
    ARTIFACTS_DIR,
    DBT,
    PROJECT_ROOT,
    DbtRun,
    assert_dbt_ok,
    free_ports,
    ml_latest_small_vars,
    run_dbt,
)

pytestmark = pytest.mark.dbt

FLOAT_DECIMALS = 9
# Columns that legitimately differ between any two builds: wall times, wall-clock stamps,
# and paths under the warehouse directory (compared relative to it).
VOLATILE_COLUMNS = frozenset({"fit_seconds", "trained_at"})
WAREHOUSE_PATH_COLUMNS = frozenset({"model_path"})
# ALS tables: factors and predictions come out of iterative float math whose summation order
# depends on how the work is partitioned across executors.
ALS_PREFIX = "ml_"
ALS_RTOL = 1e-4
ALS_ATOL = 1e-6
PAIR_SCORES = "int_movie_pair_scores"
# The table whose SQL aggregates the pairs (the SQL engine: a shuffle across the workers).
PAIR_MODEL = PAIR_SCORES
GRID_MODEL = "ml_als_grid_search"
# What the thrift build runs: the cosine seed's SQL path with the quarantine, and the ALS
# seed's path (Spark ML through Spark Connect) with EASE (numpy in Spark tasks) beside it.
# The rest of the build repeats these kinds of model: popularity, for one, is DataFrame
# operations through Spark Connect, as ml_rating_splits here is.
THRIFT_SELECTION = [
    "--select",
    "+fct_seed_similar_movies",
    "fct_rejected_rows",
    "+ml_als_recommendations",
    "+ml_ease_recommendations",
]
FAULT_SCHEMA = "movielens_fault"
FAULT_TABLES = ("int_ratings_validated", PAIR_MODEL, "fct_movie_similarities")
CONNECTION_ERROR_BUDGET_S = 60.0
DBT_TIMEOUT_S = 1200.0


# --------------------------------------------------------------------------- helpers


def movielens_vars(path: Path, als_cell: tuple[int, float] | None = None) -> list[str]:
    """The vars of the local reference build (``ml_latest_small_build``)."""
    return ["--vars", ml_latest_small_vars(path, als_cell)]


def best_als_cell(run: DbtRun) -> tuple[int, float]:
    """The (rank, reg_param) that won a build's explicit-ALS grid."""
    best = run.read_table(GRID_MODEL).query("is_best").iloc[0]
    return int(best["rank"]), float(best["reg_param"])


def _canonical(value: Any) -> Any:
    """Hashable, float-rounded form of a cell (nested lists/structs from parquet included)."""
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return "nan"
        return round(float(value), FLOAT_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    if isinstance(value, dict):
        return tuple(sorted((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | np.ndarray):
        return tuple(_canonical(v) for v in value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns sorted by name, floats rounded, nested values as strings, index dropped."""
    frame = frame[sorted(frame.columns)].reset_index(drop=True).copy()
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_float_dtype(series):
            frame[column] = series.round(FLOAT_DECIMALS) + 0.0
        elif series.dtype == object:
            frame[column] = series.map(lambda v: repr(_canonical(v)))
    return frame


def checksum(frame: pd.DataFrame) -> int:
    """Order-independent checksum of the rows of ``frame`` (see :func:`normalized`)."""
    hashes = pd.util.hash_pandas_object(normalized(frame), index=False).to_numpy(np.uint64)
    return int(hashes.sum(dtype=np.uint64))


def sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalized rows sorted by the exact columns first, then by the float ones."""
    frame = normalized(frame)
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    keys = [c for c in frame.columns if c not in floats] + floats
    return frame.sort_values(keys, kind="mergesort").reset_index(drop=True)


def comparable(run: DbtRun, table: str) -> pd.DataFrame:
    """The table as written, minus volatile columns, warehouse paths made relative."""
    frame = run.read_table(table)
    frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE_COLUMNS])
    warehouse = str(run.spark_dir / "warehouse")
    for column in WAREHOUSE_PATH_COLUMNS & set(frame.columns):
        frame[column] = frame[column].str.replace(
            rf"^(file:)?{warehouse}", "<warehouse>", regex=True
        )
    return frame


def assert_close(table: str, ours: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Same rows up to ALS_RTOL/ALS_ATOL on float columns (rows matched by sorting)."""
    ours, reference = sorted_rows(ours), sorted_rows(reference)
    floats = [c for c in reference.columns if pd.api.types.is_float_dtype(reference[c])]
    others = [c for c in reference.columns if c not in floats]
    pd.testing.assert_frame_equal(ours[others], reference[others], obj=f"{table} (non-float)")
    for column in floats:
        close = np.isclose(ours[column], reference[column], rtol=ALS_RTOL, atol=ALS_ATOL)
        close |= ours[column].isna() & reference[column].isna()
        assert close.all(), (
            f"{table}.{column}: {int((~close).sum())} of {len(close)} values differ beyond "
            f"rtol={ALS_RTOL}, atol={ALS_ATOL}"
        )


def compare_tables(
    ours: DbtRun, reference: DbtRun, tables: list[str] | tuple[str, ...]
) -> dict[str, str]:
    """Assert every table matches the reference build; return how each one matched."""
    outcome: dict[str, str] = {}
    for table in tables:
        mine, ref = comparable(ours, table), comparable(reference, table)
        assert sorted(mine.columns) == sorted(ref.columns), f"{table}: columns differ"
        assert len(mine) == len(ref), f"{table}: {len(mine)} rows vs {len(ref)} in local build"
        if checksum(mine) == checksum(ref):
            outcome[table] = f"identical ({len(ref)} rows)"
            continue
        if not table.startswith(ALS_PREFIX):
            diff = sorted_rows(mine).compare(sorted_rows(ref), result_names=("thrift", "local"))
            raise AssertionError(
                f"{table}: same {len(ref)} rows count but different content; first "
                f"differences (sorted rows):\n{diff.head(10)}"
            )
        assert_close(table, mine, ref)
        outcome[table] = f"within rtol={ALS_RTOL} ({len(ref)} rows), not bit-identical"
    return outcome


def warehouse_tables(run: DbtRun) -> list[str]:
    """Tables (directories) the build wrote into its schema's warehouse directory."""
    schema_dir = run.spark_dir / "warehouse" / f"{run.schema}.db"
    return sorted(p.name for p in schema_dir.iterdir() if p.is_dir())


def process_tree(roots: list[int]) -> set[int]:
    """``roots`` and every live descendant (a worker's executors), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def _proc_address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as /proc/net/tcp{,6} writes it: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def listening_sockets(pids: set[int]) -> list[tuple[str, int, int]]:
    """(address, port, pid) of every TCP socket in LISTEN state that ``pids`` hold."""
    owner = {}
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                owner[target[len("socket:[") : -1]] = pid
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in owner:  # 0A: LISTEN
                address, port = fields[1].split(":")
                found.append((str(_proc_address(address)), int(port, 16), owner[fields[9]]))
    return found


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def thrift_env(cluster: Cluster) -> dict[str, str]:
    return {**local_cluster.env_vars(cluster.config), "DBT_USE_COLORS": "false"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def launched_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Master + 2 workers + the server submitted (not yet serving).

    Session-scoped only so that pytest sets it up before the session-scoped local build
    (higher scopes are instantiated first), letting the server boot during that build;
    :func:`cluster` stops it at the end of this module.
    """
    ports = free_ports(5)
    config = ClusterConfig(
        state_dir=tmp_path_factory.mktemp("cluster"),
        master_port=ports[0],
        master_webui_port=ports[1],
        thrift_port=ports[2],
        connect_port=ports[3],
        ui_port=ports[4],
        workers=2,
        worker_cores=1,
        worker_memory="1g",
        driver_memory="1500m",
    )
    cluster = local_cluster.launch(config)
    try:
        yield cluster
    finally:
        local_cluster.stop_cluster(cluster)


@pytest.fixture(scope="module")
def cluster(launched_cluster: Cluster, ml_latest_small_build: DbtRun) -> Iterator[Cluster]:
    """The cluster once it serves Thrift and Connect; stopped (all pids) after the module."""
    try:
        local_cluster.wait_until_ready(launched_cluster)
        yield launched_cluster
    finally:
        local_cluster.stop_cluster(launched_cluster)
        still = [role for role, running in launched_cluster.running().items() if running]
        assert not still, f"processes left running after stop: {still}"


@pytest.fixture(scope="module")
def thrift_build(
    cluster: Cluster,
    ml_latest_small: Path,
    ml_latest_small_build: DbtRun,
    tmp_path_factory: pytest.TempPathFactory,
) -> DbtRun:
    """``THRIFT_SELECTION`` on the cluster, its explicit-ALS grid cut to the local build's
    winning cell: the other 19 fits would only repeat what the local build checked, and
    everything downstream of the grid depends on the winner alone."""
    work = tmp_path_factory.mktemp("thrift-build")
    cell = best_als_cell(ml_latest_small_build)
    run = run_dbt(
        ["run", "--target", "thrift", *THRIFT_SELECTION, *movielens_vars(ml_latest_small, cell)],
        spark_dir=cluster.config.state_dir,
        work_dir=work,
        env=thrift_env(cluster),
    )
    assert_dbt_ok(run)
    return run


# --------------------------------------------------------------------------- tests


def test_status_reports_two_workers_and_both_ports(cluster: Cluster) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "python_jobs.tools.local_cluster",
            "--state-dir",
            str(cluster.config.state_dir),
            "status",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "2/2 workers alive" in completed.stdout
    assert f"export SPARK_THRIFT_PORT={cluster.config.thrift_port}" in completed.stdout
    assert f"export SPARK_CONNECT_URL={cluster.config.connect_url}" in completed.stdout
    # A second start on the same state dir is refused instead of clobbering the pid file.
    with pytest.raises(local_cluster.ClusterError, match="already running"):
        local_cluster.launch(cluster.config)


def test_thrift_build_equals_local_build(
    thrift_build: DbtRun, ml_latest_small_build: DbtRun
) -> None:
    tables = warehouse_tables(thrift_build)
    assert set(tables) <= set(warehouse_tables(ml_latest_small_build))
    assert {
        "fct_seed_similar_movies",
        "fct_rejected_rows",
        "ml_als_recommendations",
        "ml_ease_recommendations",
        PAIR_MODEL,
        GRID_MODEL,
    } <= set(tables)
    outcome = compare_tables(
        thrift_build, ml_latest_small_build, [t for t in tables if t != GRID_MODEL]
    )
    # The thrift grid is the local grid's winning row, fitted again on the cluster.
    grid = comparable(thrift_build, GRID_MODEL)
    winner = comparable(ml_latest_small_build, GRID_MODEL).query("is_best")
    assert len(grid) == 1 and grid["is_best"].all()
    assert_close(GRID_MODEL, grid, winner)
    outcome[GRID_MODEL] = "the local grid's winning cell, within tolerance"
    print(f"local {ml_latest_small_build.seconds:.0f}s, thrift {thrift_build.seconds:.0f}s")
    for table, how in outcome.items():
        print(f"  {table}: {how}")


def test_a_relative_movielens_path_fails_in_one_line_on_the_thrift_target(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The server cannot know where dbt runs: a relative path is refused before any file is
    registered, with one line that names it (the local session resolves it instead)."""
    run = run_dbt(
        [
            "run",
            "--target",
            "thrift",
            "--select",
            "stg_movielens__ratings",
            "--vars",
            "{movielens_path: 'data/ml-latest-small'}",
        ],
        spark_dir=cluster.config.state_dir,
        work_dir=tmp_path,
        schema="relative_path",
        env=thrift_env(cluster),
    )
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if "'data/ml-latest-small'" in line]
    assert len(lines) == 1, run.output[-3000:]
    assert "is relative" in lines[0] and "s3://" in lines[0]
    assert "at org.apache" not in run.output
    # nothing was created on the server: not even the raw schema
    assert (
        "create schema if not exists relative_path_raw"
        not in (tmp_path / "logs" / "dbt.log").read_text()
    )


def test_every_listening_socket_of_the_cluster_is_on_loopback(cluster: Cluster) -> None:
    """Master, workers, their executors and the server: RPC, web UIs, Thrift and Connect."""
    roots = [record.pid for record in cluster.processes.values()]
    sockets = listening_sockets(process_tree(roots))
    exposed = [(address, port, pid) for address, port, pid in sockets if not is_loopback(address)]
    assert exposed == [], f"listening beyond loopback (address, port, pid): {exposed}"
    config = cluster.config
    expected = {
        config.master_port, config.master_webui_port, config.thrift_port, config.connect_port,
        config.ui_port,
    }  # fmt: skip
    assert expected <= {port for _, port, _ in sockets}, sockets
    # Each worker listens too (RPC and web UI on ports it picked), and so do its executors.
    assert len(sockets) > len(expected) + 2 * config.workers, sockets
    print(f"{len(sockets)} listening sockets, all on loopback: {sorted(sockets)}")


def test_a_failed_rebuild_keeps_the_old_rows_on_the_thrift_target(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """tests/fixtures/atomic_table_project: SQL through Thrift, Python through Spark Connect."""
    tmp = tmp_path_factory.mktemp("thrift-atomic")
    project = make_project(tmp)
    spark_dir = cluster.config.state_dir

    def dbt(name: str, *args: str) -> DbtRun:
        return run_dbt(
            [*args, "--project-dir", str(project)],
            spark_dir=spark_dir,
            work_dir=tmp / name,
            schema="atomic",
            env=thrift_env(cluster),
        )

    assert_dbt_ok(dbt("release-1", "run", "--vars", "{release: 1}"))
    failed = dbt("release-2", "run", "--vars", "{release: 2, fail: true}")
    assert failed.returncode == 1, failed.output[-3000:]
    lines = failed.output.splitlines()
    for table in TABLES:
        assert releases(spark_dir, table) == {1: 10}, f"{table} lost its rows"
        heading = next(i for i, line in enumerate(lines) if f"Error in model {table} (" in line)
        assert "injected failure in " + table in lines[heading + 1], lines[heading : heading + 3]
    assert "at org.apache" not in failed.output
    assert staging_dirs(spark_dir) == [], "the failed run's staging tables remain"
    assert_dbt_ok(dbt("release-3", "run", "--vars", "{release: 3}"))
    for table in TABLES:
        assert releases(spark_dir, table) == {3: 30}
    assert staging_dirs(spark_dir) == []


def test_auto_pair_engine_runs_blocked_through_spark_connect(
    cluster: Cluster,
    ml_latest_small: Path,
    ml_latest_small_build: DbtRun,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The default `pair_engine: auto` on the thrift target with Spark Connect: the blocked
    engine ships the rating matrix to the cluster's executors, Spark writes the rows (ORC),
    and the table equals the local build's. Without a Connect URL, auto runs the SQL."""
    work = tmp_path_factory.mktemp("thrift-blocked")
    run = run_dbt(
        [
            "run",
            "--target",
            "thrift",
            "--select",
            "+int_movie_pair_scores",
            *movielens_vars(ml_latest_small),
        ],
        spark_dir=cluster.config.state_dir,
        work_dir=work,
        schema="blocked_pairs",
        env=thrift_env(cluster),
    )
    assert_dbt_ok(run)
    assert "int_movie_pair_scores: blocked engine (pair_engine: auto; Python models run on " in (
        run.output
    )
    assert "blocked sparse products" in run.output
    # Spark writes the rows here (Spark Connect, the cluster's workers): ORC, not the
    # session target's parquet files that the tasks write themselves
    assert "rows written as" not in run.output
    assert list(run.table_path(PAIR_SCORES).glob("part-*.snappy.orc"))
    assert not list(run.table_path(PAIR_SCORES).glob("*.parquet"))
    key = ["movie1_id", "movie2_id"]
    ours, reference = run.read_table(PAIR_SCORES), ml_latest_small_build.read_table(PAIR_SCORES)
    pd.testing.assert_frame_equal(
        ours[list(reference.columns)].sort_values(key).reset_index(drop=True),
        reference.sort_values(key).reset_index(drop=True),
        check_exact=True,
        check_dtype=False,
    )


def _stream_dbt(
    args: list[str], env: dict[str, str], on_line: Any, work: Path
) -> tuple[int, str, float]:
    """Run dbt like ``tests.support.run_dbt`` but hand every output line to ``on_line``."""
    command = [DBT, *args, "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            on_line(line)
        returncode = proc.wait(timeout=DBT_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(lines)
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    (ARTIFACTS_DIR / f"dbt-{work.name}.log").write_text(output)
    return returncode, output, time.monotonic() - started


def _active_stages(cluster: Cluster) -> list[dict[str, Any]]:
    stages = local_cluster.app_api(cluster.config, "stages?status=active") or []
    return [s for s in stages if s.get("numActiveTasks", 0) > 0]


def test_killed_worker_during_pair_aggregation(
    cluster: Cluster,
    ml_latest_small: Path,
    ml_latest_small_build: DbtRun,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """SIGKILL worker-2 and its executor while the pair aggregation runs; same output."""
    work = tmp_path_factory.mktemp("thrift-fault")
    started = threading.Event()
    finished: list[float] = []
    killed: dict[str, Any] = {}

    def on_line(line: str) -> None:
        # "START sql incremental model <schema>.<model> ...": the pair sums are incremental
        if f" model {FAULT_SCHEMA}.{PAIR_MODEL} " not in line:
            return
        if "START sql " in line:
            started.set()
        elif "created sql " in line:
            finished.append(time.monotonic())

    def saboteur() -> None:
        if not started.wait(timeout=DBT_TIMEOUT_S):
            return
        killed["stages"] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not finished:
            stages = _active_stages(cluster)
            if stages:
                killed["stages"] = [f"{s['stageId']}: {s.get('name', '')[:60]}" for s in stages]
                break
            time.sleep(0.2)
        if finished:
            return
        killed["pids"] = local_cluster.kill_worker(cluster, 2)
        killed["at"] = time.monotonic()

    thread = threading.Thread(target=saboteur, daemon=True)
    thread.start()
    # Without a Spark Connect URL the target runs no Python models: pair_engine auto runs
    # the SQL definition, whose aggregation shuffles across the workers.
    env = {
        key: value
        for key, value in {
            **thrift_env(cluster),
            "DBT_SCHEMA": FAULT_SCHEMA,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }.items()
        if key != "SPARK_CONNECT_URL"
    }
    args = ["run", "--target", "thrift", "--select", "+fct_movie_similarities"]
    returncode, output, seconds = _stream_dbt(
        [*args, *movielens_vars(ml_latest_small)], env, on_line, work
    )
    thread.join(timeout=90)
    try:
        tail = "\n".join(output.splitlines()[-40:])
        assert "at" in killed, f"worker was not killed during {PAIR_MODEL}: {killed}\n{tail}"
        assert finished and finished[0] > killed["at"], f"{PAIR_MODEL} finished before the kill"
        assert returncode == 0, f"dbt run failed after the worker was killed:\n{tail}"
        assert (
            f"{PAIR_MODEL}: sql engine (pair_engine: auto; target thrift runs no Python "
            "models (set SPARK_CONNECT_URL for the blocked engine))" in output
        ), tail
        executors = local_cluster.app_api(cluster.config, "allexecutors") or []
        lost = [e for e in executors if e["id"] != "driver" and not e.get("isActive", True)]
        assert lost, f"the application lost no executor: {executors}"
        run = DbtRun(
            tuple(args), returncode, output, seconds, cluster.config.state_dir, FAULT_SCHEMA
        )
        outcome = compare_tables(run, ml_latest_small_build, FAULT_TABLES)
        print(f"killed pids {killed['pids']} during stages {killed['stages']}; {outcome}")
    finally:
        # Later tests (and users of the fixture) expect two workers again.
        local_cluster.start_worker(cluster, 2)
        local_cluster.wait_for_workers(cluster, timeout=120)
    assert local_cluster.alive_workers(cluster.config) == 2


def test_stopped_server_fails_fast_naming_host_and_port(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Runs last: stops the server and expects quick, clear connection errors."""
    config = cluster.config
    local_cluster.stop_server(cluster)
    assert not local_cluster.port_open(config.host, config.thrift_port)
    address = f"('{config.host}', {config.thrift_port})"
    env = {**os.environ, **thrift_env(cluster), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}

    started = time.monotonic()
    debug = subprocess.run(
        [DBT, "debug", "--target", "thrift"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CONNECTION_ERROR_BUDGET_S * 2,
        check=False,
    )
    debug_s = time.monotonic() - started
    assert debug.returncode != 0
    assert debug_s < CONNECTION_ERROR_BUDGET_S, f"dbt debug took {debug_s:.0f}s to fail"
    assert f"Could not connect to any of [{address}]" in debug.stdout, debug.stdout[-2000:]

    run = run_dbt(
        ["run", "--target", "thrift", "--select", "dim_movies"],
        spark_dir=config.state_dir,
        work_dir=tmp_path_factory.mktemp("thrift-closed"),
        env=thrift_env(cluster),
        timeout=CONNECTION_ERROR_BUDGET_S * 2,
    )
    assert run.returncode != 0
    assert run.seconds < CONNECTION_ERROR_BUDGET_S, f"dbt run took {run.seconds:.0f}s to fail"
    assert f"Could not connect to any of [{address}]" in run.output, run.output[-2000:]
    print(f"dbt debug failed in {debug_s:.1f}s, dbt run in {run.seconds:.1f}s")

    healthy, lines = local_cluster.status_lines(config.state_dir)
    assert not healthy
    assert any("server" in line and "stopped" in line for line in lines), lines
