"""A Spark standalone cluster on this machine, serving dbt's ``thrift`` target.

``python -m python_jobs.tools.local_cluster start`` launches, from the installed pyspark (no
separate Spark download, no ssh):

* one standalone **master** (``spark-class org.apache.spark.deploy.master.Master``);
* N **workers** (default 2, each 1 core and 1g for executors), ``spark-class ...Worker``;
* one Spark application submitted to that master with ``spark-submit --class
  org.apache.spark.sql.hive.thriftserver.HiveThriftServer2`` and
  ``spark.plugins=org.apache.spark.sql.connect.SparkConnectPlugin``: the **Thrift server**
  (dbt's SQL, ``method: thrift``) and the **Spark Connect** server (dbt Python models, see
  ``dbt_spark_oss_python``) live in the same driver, so both see one catalog.

The warehouse, the embedded Derby metastore, checkpoints, logs, the workers' scratch space
and ``cluster.json`` (process ids and ports) live under a state directory: ``--state-dir``,
else ``$MOVIELENS_CLUSTER_DIR``, else ``.spark/cluster/`` in the project. ``start`` waits until
the master sees every worker and both the Thrift and the Connect ports answer, printing
progress; on failure or timeout it prints the tail of the failing log, stops what it
started and exits non-zero. ``stop`` stops, by process id, everything ``start`` launched
(server, workers with their executors, master). ``status`` prints what runs.

With ``--workers 0`` no standalone daemons are started and the server runs on a
``local[N]`` master (one JVM), which is what a quick test needs.

Examples::

    python -m python_jobs.tools.local_cluster start            # then, as printed:
    export DBT_TARGET=thrift SPARK_THRIFT_HOST=127.0.0.1 SPARK_THRIFT_PORT=10000
    export SPARK_CONNECT_URL=sc://127.0.0.1:15002
    dbt build --vars '{movielens_path: /data/ml-latest-small}'
    python -m python_jobs.tools.local_cluster status
    python -m python_jobs.tools.local_cluster stop

Everything binds to 127.0.0.1 (``SPARK_LOCAL_IP``); the Thrift server runs without
authentication, so do not expose it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyspark

from python_jobs.spark import DRIVER_JAVA_OPTIONS, JVM_ARCHIVE_OPTION, local_session_conf

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPARK_HOME = Path(pyspark.__file__).resolve().parent
STATE_DIR_ENV = "MOVIELENS_CLUSTER_DIR"
DEFAULT_STATE_DIR = PROJECT_ROOT / ".spark" / "cluster"
STATE_FILE = "cluster.json"

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
SERVER_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"

DEFAULT_START_TIMEOUT_S = 240.0
# The options of the `local` target's driver that every JVM of the cluster takes too: the
# class archive `make setup` writes (same Spark jars) and its quiet logging, the JIT tier and
# its code cache, and the thread stack (profiles/profiles.yml, SPARK_DRIVER_JAVA_OPTIONS).
JVM_OPTION_PREFIXES = (
    JVM_ARCHIVE_OPTION,
    "-Xlog:cds",
    "-XX:TieredStopAtLevel=",
    "-XX:ReservedCodeCacheSize=",
    "-Xss",
)
DEFAULT_STOP_TIMEOUT_S = 30.0
PROGRESS_EVERY_S = 10.0
LOG_TAIL_LINES = 40

Log = Callable[[str], None]


class ClusterError(RuntimeError):
    """The local cluster could not be started, reached or stopped (one-line message)."""


def _print(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- configuration


def local_jvm_options() -> str:
    """The class-archive, JIT and thread-stack options of the ``local`` target's driver
    (``JVM_OPTION_PREFIXES``), by default the archive of ``MOVIELENS_JVM_ARCHIVE`` and
    ``-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -Xss16m``."""
    options = shlex.split(local_session_conf()[DRIVER_JAVA_OPTIONS])
    return shlex.join(option for option in options if option.startswith(JVM_OPTION_PREFIXES))


@dataclass(frozen=True)
class ClusterConfig:
    """Where the cluster keeps its state, its ports and its size.

    Parameters
    ----------
    state_dir
        Warehouse, ``metastore_db``, ``checkpoints``, ``logs``, ``work`` and ``cluster.json``.
    host
        Address every process binds to and clients connect to.
    master_port, master_webui_port
        Standalone master RPC and web UI (its ``/json/`` lists the workers).
    thrift_port, connect_port
        HiveServer2 Thrift port (dbt ``method: thrift``) and Spark Connect gRPC port.
    ui_port
        Web UI of the server application (jobs, stages, executors; REST API under
        ``/api/v1``); 0 turns the UI off.
    workers
        Number of standalone workers; 0 runs the server on ``local[worker_cores]`` instead.
    worker_cores, worker_memory
        What each worker offers to executors (one executor of that size per worker).
    driver_memory
        Heap of the server JVM (Thrift + Connect + Derby metastore + query planning).
    shuffle_partitions
        ``spark.sql.shuffle.partitions``; default the ``local`` dbt target's.
    extra_conf
        Further ``--conf`` settings for the server application.
    java_options
        JVM options of every process: master and workers (``SPARK_DAEMON_JAVA_OPTS``), the
        server's driver and the executors. Default :func:`local_jvm_options`: as the ``local``
        target's driver, from the class archive and with the JIT's quick tier, unless
        ``SPARK_DRIVER_JAVA_OPTIONS`` says otherwise. On laptop-sized data the optimizing
        compiler's work does not pay back (docs/startup.md; docs/cluster.md has the figures).
        Pass ``""`` for the JVMs' defaults.
    """

    state_dir: Path = DEFAULT_STATE_DIR
    host: str = "127.0.0.1"
    master_port: int = 7077
    master_webui_port: int = 8080
    thrift_port: int = 10000
    connect_port: int = 15002
    ui_port: int = 4040
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "1g"
    driver_memory: str = "2g"
    shuffle_partitions: int = field(
        default_factory=lambda: int(local_session_conf()["spark.sql.shuffle.partitions"])
    )
    extra_conf: Mapping[str, str] = field(default_factory=dict)
    java_options: str = field(default_factory=local_jvm_options)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state_dir", Path(self.state_dir).resolve())
        object.__setattr__(self, "extra_conf", dict(self.extra_conf))
        if self.workers < 0 or self.worker_cores < 1:
            raise ClusterError("workers must be >= 0 and worker_cores >= 1")

    @property
    def master_url(self) -> str:
        if self.workers == 0:
            return f"local[{self.worker_cores}]"
        return f"spark://{self.host}:{self.master_port}"

    @property
    def connect_url(self) -> str:
        return f"sc://{self.host}:{self.connect_port}"

    @property
    def warehouse_dir(self) -> Path:
        return self.state_dir / "warehouse"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state_dir"] = str(self.state_dir)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClusterConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def env_vars(config: ClusterConfig) -> dict[str, str]:
    """Environment a dbt user needs to build on this cluster with the ``thrift`` target."""
    return {
        "DBT_TARGET": "thrift",
        "SPARK_THRIFT_HOST": config.host,
        "SPARK_THRIFT_PORT": str(config.thrift_port),
        "SPARK_CONNECT_URL": config.connect_url,
    }


def resolve_state_dir(state_dir: str | os.PathLike[str] | None = None) -> Path:
    """``state_dir``, else ``$MOVIELENS_CLUSTER_DIR``, else ``.spark/cluster`` in the project."""
    chosen = state_dir or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR
    return Path(chosen).resolve()


# --------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class ProcessRecord:
    """One JVM this module launched: its role (``master``, ``worker-1``, ``server``)."""

    role: str
    pid: int
    start_ticks: int  # /proc/<pid>/stat start time: tells a live pid from a reused one
    main_class: str
    log: str
    command: tuple[str, ...] = ()


# Popen handles of processes launched by this Python process, so they can be reaped.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _proc_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) is parenthesised and may contain spaces: split after its closing paren.
    return [
        str(pid),
        raw[raw.index("(") + 1 : raw.rindex(")")],
        *raw[raw.rindex(")") + 2 :].split(),
    ]


def _start_ticks(pid: int) -> int:
    stat = _proc_stat(pid)
    return int(stat[21]) if stat else -1


def is_running(record: ProcessRecord) -> bool:
    """Whether the recorded process still runs (not exited, not a zombie, pid not reused)."""
    child = _CHILDREN.get(record.pid)
    if child is not None and child.poll() is not None:
        return False
    stat = _proc_stat(record.pid)
    if stat is None or stat[2] in {"Z", "X"}:
        return False
    return int(stat[21]) == record.start_ticks


def _descendants(pid: int) -> list[int]:
    """Pids of all live descendants of ``pid`` (executors a worker launched)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None:
                parents.setdefault(int(stat[3]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _wait_gone(pids: Iterable[int], records: Sequence[ProcessRecord], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    pids = list(pids)
    while time.monotonic() < deadline:
        for child in _CHILDREN.values():
            child.poll()
        alive_records = [r for r in records if is_running(r)]
        alive_pids = [p for p in pids if (s := _proc_stat(p)) is not None and s[2] not in "ZX"]
        if not alive_records and not alive_pids:
            return True
        time.sleep(0.2)
    return False


def terminate(
    record: ProcessRecord, timeout: float = DEFAULT_STOP_TIMEOUT_S, *, kill: bool = False
) -> None:
    """Stop one recorded process and its descendants: SIGTERM (or SIGKILL), then SIGKILL.

    Does nothing when the process no longer runs (or its pid now belongs to another process).
    """
    if not is_running(record):
        _reap(record.pid)
        return
    family = _descendants(record.pid)
    _signal(record.pid, signal.SIGKILL if kill else signal.SIGTERM)
    if kill:
        for pid in family:
            _signal(pid, signal.SIGKILL)
    if not _wait_gone(family, [record], timeout):
        _signal(record.pid, signal.SIGKILL)
    # Executors normally exit with their worker; anything left over is killed.
    leftovers = [p for p in family if (s := _proc_stat(p)) is not None and s[2] not in "ZX"]
    if leftovers and not _wait_gone(leftovers, [], 5.0):
        for pid in leftovers:
            _signal(pid, signal.SIGKILL)
        _wait_gone(leftovers, [], 5.0)
    _reap(record.pid)


def _reap(pid: int) -> None:
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)


def _spark_env(config: ClusterConfig) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SPARK_REMOTE", "SPARK_CONNECT_MODE"}}
    env.update(
        SPARK_HOME=str(SPARK_HOME),
        SPARK_LOCAL_IP=config.host,
        SPARK_LOG_DIR=str(config.log_dir),
        SPARK_WORKER_DIR=str(config.state_dir / "work"),
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_DAEMON_JAVA_OPTS=" ".join(
            filter(None, [env.get("SPARK_DAEMON_JAVA_OPTS", ""), config.java_options])
        ),
    )
    return env


def _launch(config: ClusterConfig, role: str, main_class: str, command: list[str]) -> ProcessRecord:
    """Start one JVM in its own session (it outlives this process), output to its log."""
    config.log_dir.mkdir(parents=True, exist_ok=True)
    log = config.log_dir / f"{role}.log"
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            command,
            cwd=config.state_dir,
            env=_spark_env(config),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    # spark-class execs the JVM, so this pid is the JVM's for its whole life.
    return ProcessRecord(
        role, proc.pid, _start_ticks(proc.pid), main_class, str(log), tuple(command)
    )


def _master_command(config: ClusterConfig) -> list[str]:
    return [
        str(SPARK_HOME / "bin" / "spark-class"),
        MASTER_CLASS,
        *("--host", config.host),
        *("--port", str(config.master_port)),
        *("--webui-port", str(config.master_webui_port)),
    ]


def _worker_command(config: ClusterConfig, index: int) -> list[str]:
    return [
        str(SPARK_HOME / "bin" / "spark-class"),
        WORKER_CLASS,
        *("--host", config.host),
        *("--port", "0"),
        *("--webui-port", "0"),
        *("--cores", str(config.worker_cores)),
        *("--memory", config.worker_memory),
        *("--work-dir", str(config.state_dir / "work" / f"worker-{index}")),
        config.master_url,
    ]


def server_conf(config: ClusterConfig) -> dict[str, str]:
    """Spark settings of the Thrift + Connect application (the ``local`` target's time zone)."""
    state = config.state_dir
    java_opts = " ".join(filter(None, [f"-Dderby.system.home={state}", config.java_options]))
    conf = {
        "spark.plugins": CONNECT_PLUGIN,
        "spark.connect.grpc.binding.address": config.host,
        "spark.connect.grpc.binding.port": str(config.connect_port),
        "spark.driver.host": config.host,
        "spark.driver.bindAddress": config.host,
        "spark.driver.memory": config.driver_memory,
        "spark.driver.extraJavaOptions": java_opts,
        "spark.ui.enabled": "true" if config.ui_port else "false",
        "spark.ui.port": str(config.ui_port),
        "spark.sql.warehouse.dir": str(config.warehouse_dir),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={state / 'metastore_db'};create=true"
        ),
        "spark.checkpoint.dir": str(state / "checkpoints"),
        "spark.sql.shuffle.partitions": str(config.shuffle_partitions),
        "spark.sql.session.timeZone": local_session_conf()["spark.sql.session.timeZone"],
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
    }
    if config.workers > 0:
        conf.update(
            {
                "spark.executor.cores": str(config.worker_cores),
                "spark.executor.memory": config.worker_memory,
                "spark.executor.extraJavaOptions": config.java_options,
                "spark.cores.max": str(config.workers * config.worker_cores),
            }
        )
    conf.update(config.extra_conf)
    return conf


def _server_command(config: ClusterConfig) -> list[str]:
    return [
        str(SPARK_HOME / "bin" / "spark-submit"),
        *("--master", config.master_url),
        *("--name", "movielens-thrift-connect"),
        *("--class", SERVER_CLASS),
        *[
            arg
            for key, value in server_conf(config).items()
            for arg in ("--conf", f"{key}={value}")
        ],
        *("--hiveconf", f"hive.server2.thrift.port={config.thrift_port}"),
        *("--hiveconf", f"hive.server2.thrift.bind.host={config.host}"),
        "spark-internal",
    ]


# --------------------------------------------------------------------------- state file


@dataclass
class Cluster:
    """A started (or recorded) cluster: its configuration and the processes it launched."""

    config: ClusterConfig
    processes: dict[str, ProcessRecord] = field(default_factory=dict)

    @property
    def state_file(self) -> Path:
        return self.config.state_dir / STATE_FILE

    def save(self) -> None:
        data = {
            "config": self.config.to_json(),
            "processes": {role: asdict(rec) for role, rec in self.processes.items()},
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.state_file)

    @classmethod
    def load(cls, state_dir: str | os.PathLike[str] | None = None) -> Cluster | None:
        path = resolve_state_dir(state_dir) / STATE_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        processes = {
            role: ProcessRecord(**{**rec, "command": tuple(rec.get("command", ()))})
            for role, rec in data["processes"].items()
        }
        return cls(ClusterConfig.from_json(data["config"]), processes)

    def worker_roles(self) -> list[str]:
        return [f"worker-{i}" for i in range(1, self.config.workers + 1)]

    def running(self) -> dict[str, bool]:
        return {role: is_running(rec) for role, rec in self.processes.items()}


# --------------------------------------------------------------------------- probes


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    with socket.socket() as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def _get_json(url: str, timeout: float = 2.0) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - localhost
            return json.loads(response.read().decode())
    except (OSError, urllib.error.URLError, ValueError):
        return None


def master_state(config: ClusterConfig) -> dict[str, Any] | None:
    """The standalone master's ``/json/`` (workers, cores, apps), or ``None`` if unreachable."""
    if config.workers == 0:
        return None
    return _get_json(f"http://{config.host}:{config.master_webui_port}/json/")


def alive_workers(config: ClusterConfig) -> int:
    """How many workers the master currently counts as ALIVE (0 if it does not answer)."""
    state = master_state(config)
    return int(state.get("aliveworkers", 0)) if state else 0


def app_api(config: ClusterConfig, path: str) -> Any:
    """GET ``/api/v1/applications/<the server app>/<path>`` on the server's UI, or ``None``."""
    if not config.ui_port:
        return None
    base = f"http://{config.host}:{config.ui_port}/api/v1/applications"
    apps = _get_json(base)
    if not apps:
        return None
    return _get_json(f"{base}/{apps[0]['id']}/{path.lstrip('/')}")


def log_tail(path: str | os.PathLike[str], lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file ('' if it does not exist)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- start / stop


def _check_free(config: ClusterConfig) -> None:
    ports = {"thrift": config.thrift_port, "connect": config.connect_port}
    if config.ui_port:
        ports["ui"] = config.ui_port
    if config.workers:
        ports = {"master": config.master_port, "master web UI": config.master_webui_port, **ports}
    for name, port in ports.items():
        if port_open(config.host, port):
            raise ClusterError(
                f"port {config.host}:{port} ({name}) is already in use; stop what holds it or "
                f"choose another port (see --help)"
            )


def _wait_for(
    what: str,
    ready: Callable[[], bool],
    watched: Sequence[ProcessRecord],
    deadline: float,
    log: Log,
) -> None:
    """Poll ``ready`` until true; fail fast when a watched process exits, or at the deadline."""
    started = time.monotonic()
    next_progress = started + PROGRESS_EVERY_S
    while not ready():
        for record in watched:
            if not is_running(record):
                raise ClusterError(
                    f"{record.role} (pid {record.pid}) exited while waiting for {what}; "
                    f"last lines of {record.log}:\n{log_tail(record.log)}"
                )
        now = time.monotonic()
        if now > deadline:
            record = watched[-1]
            raise ClusterError(
                f"timed out waiting for {what} after {now - started:.0f}s; "
                f"last lines of {record.log}:\n{log_tail(record.log)}"
            )
        if now >= next_progress:
            log(f"  ... still waiting for {what} ({now - started:.0f}s)")
            next_progress = now + PROGRESS_EVERY_S
        time.sleep(0.5)


def start_worker(cluster: Cluster, index: int) -> ProcessRecord:
    """Launch worker ``index`` (1-based) again, e.g. after it was killed; records its pid."""
    role = f"worker-{index}"
    old = cluster.processes.get(role)
    if old is not None and is_running(old):
        raise ClusterError(f"{role} is still running (pid {old.pid})")
    record = _launch(cluster.config, role, WORKER_CLASS, _worker_command(cluster.config, index))
    cluster.processes[role] = record
    cluster.save()
    return record


def wait_for_workers(
    cluster: Cluster, count: int | None = None, timeout: float = 90.0, log: Log = _print
) -> None:
    """Wait until the master counts ``count`` (default: all) workers as alive."""
    config = cluster.config
    count = config.workers if count is None else count
    watched = [cluster.processes["master"]] + [
        cluster.processes[r] for r in cluster.worker_roles() if r in cluster.processes
    ]
    _wait_for(
        f"{count} worker(s) registered with the master",
        lambda: alive_workers(config) >= count,
        watched,
        time.monotonic() + timeout,
        log,
    )


def launch(config: ClusterConfig, log: Log = _print) -> Cluster:
    """Start master, workers and server without waiting for the server's ports.

    Use :func:`wait_until_ready` afterwards (or :func:`start`, which does both). Raises
    :class:`ClusterError` when the state directory already has running processes or a port is
    taken. On any failure, what was already launched is stopped again.
    """
    existing = Cluster.load(config.state_dir)
    if existing is not None and any(existing.running().values()):
        running = ", ".join(
            f"{r} (pid {p.pid})" for r, p in existing.processes.items() if is_running(p)
        )
        raise ClusterError(
            f"a cluster from {config.state_dir} is already running: {running}; "
            f"run `python -m python_jobs.tools.local_cluster stop` first"
        )
    _check_free(config)
    for sub in ("warehouse", "checkpoints", "logs", "work"):
        (config.state_dir / sub).mkdir(parents=True, exist_ok=True)
    cluster = Cluster(config)
    try:
        if config.workers:
            log(f"Starting Spark master {config.master_url} (web UI :{config.master_webui_port})")
            cluster.processes["master"] = _launch(
                config, "master", MASTER_CLASS, _master_command(config)
            )
            cluster.save()
            _wait_for(
                "the master",
                lambda: master_state(config) is not None,
                [cluster.processes["master"]],
                time.monotonic() + 90,
                log,
            )
            for index in range(1, config.workers + 1):
                log(
                    f"Starting worker-{index} ({config.worker_cores} core, "
                    f"{config.worker_memory} for executors)"
                )
                start_worker(cluster, index)
            wait_for_workers(cluster, log=log)
        log(
            f"Submitting the Thrift + Spark Connect server to {config.master_url} "
            f"(log: {config.log_dir / 'server.log'})"
        )
        cluster.processes["server"] = _launch(
            config, "server", SERVER_CLASS, _server_command(config)
        )
        cluster.save()
    except BaseException:
        stop_cluster(cluster, log=lambda _msg: None)
        raise
    return cluster


def wait_until_ready(
    cluster: Cluster, timeout: float = DEFAULT_START_TIMEOUT_S, log: Log = _print
) -> None:
    """Wait until the Thrift and Connect ports answer; stop the cluster and raise on failure."""
    config = cluster.config
    watched = [
        cluster.processes[r]
        for r in ("master", *cluster.worker_roles(), "server")
        if r in cluster.processes
    ]
    started = time.monotonic()
    try:
        _wait_for(
            f"Thrift :{config.thrift_port} and Spark Connect :{config.connect_port}",
            lambda: (
                port_open(config.host, config.thrift_port)
                and port_open(config.host, config.connect_port)
            ),
            watched,
            started + timeout,
            log,
        )
    except BaseException:
        stop_cluster(cluster, log=lambda _msg: None)
        raise
    log(f"Cluster ready in {time.monotonic() - started:.0f}s")


def start(
    config: ClusterConfig, timeout: float = DEFAULT_START_TIMEOUT_S, log: Log = _print
) -> Cluster:
    """Start the cluster and wait until it serves Thrift and Spark Connect."""
    cluster = launch(config, log=log)
    wait_until_ready(cluster, timeout=timeout, log=log)
    return cluster


def stop_cluster(
    cluster: Cluster, timeout: float = DEFAULT_STOP_TIMEOUT_S, log: Log = _print
) -> list[str]:
    """Stop the server, then the workers (and their executors), then the master, by pid.

    Returns the roles that were running and have been stopped.
    """
    order = ["server", *sorted(r for r in cluster.processes if r.startswith("worker-")), "master"]
    stopped: list[str] = []
    for role in order:
        record = cluster.processes.get(role)
        if record is None:
            continue
        if is_running(record):
            log(f"Stopping {role} (pid {record.pid})")
            terminate(record, timeout)
            stopped.append(role)
        else:
            _reap(record.pid)
    if cluster.state_file.exists():
        cluster.save()
    return stopped


def stop(state_dir: str | os.PathLike[str] | None = None, log: Log = _print) -> list[str]:
    """Stop the cluster recorded in ``state_dir`` (see :func:`resolve_state_dir`)."""
    cluster = Cluster.load(state_dir)
    if cluster is None:
        log(f"No cluster recorded in {resolve_state_dir(state_dir)}")
        return []
    stopped = stop_cluster(cluster, log=log)
    if not stopped:
        log("Nothing was running")
    return stopped


def stop_server(cluster: Cluster, log: Log = _print) -> None:
    """Stop only the Thrift + Connect server (master and workers keep running)."""
    record = cluster.processes.get("server")
    if record is not None and is_running(record):
        log(f"Stopping server (pid {record.pid})")
        terminate(record)


def kill_worker(cluster: Cluster, index: int) -> list[int]:
    """SIGKILL worker ``index`` and its executor JVMs at once, as if its node died.

    Returns the killed pids (worker first).
    """
    record = cluster.processes[f"worker-{index}"]
    if not is_running(record):
        raise ClusterError(f"worker-{index} (pid {record.pid}) is not running")
    family = [record.pid, *_descendants(record.pid)]
    for pid in family:
        _signal(pid, signal.SIGKILL)
    _wait_gone(family[1:], [record], 10.0)
    _reap(record.pid)
    return family


# --------------------------------------------------------------------------- status


def status_lines(state_dir: str | os.PathLike[str] | None = None) -> tuple[bool, list[str]]:
    """Human-readable status; the flag says whether the cluster fully serves dbt."""
    cluster = Cluster.load(state_dir)
    if cluster is None:
        return False, [f"No cluster recorded in {resolve_state_dir(state_dir)}"]
    config = cluster.config
    lines = [f"State dir: {config.state_dir}"]
    running = cluster.running()
    for role, record in cluster.processes.items():
        lines.append(
            f"  {role:<9} pid {record.pid:<8} {'running' if running[role] else 'stopped'}"
            f"  log {record.log}"
        )
    healthy = bool(running) and all(running.values())
    if config.workers:
        state = master_state(config)
        if state is None:
            lines.append(f"  master {config.master_url}: not answering")
            healthy = False
        else:
            alive = int(state.get("aliveworkers", 0))
            apps = [app.get("name", "?") for app in state.get("activeapps", [])]
            lines.append(
                f"  master {config.master_url}: {alive}/{config.workers} workers alive, "
                f"cores used {state.get('coresused', '?')}/{state.get('cores', '?')}, "
                f"apps: {', '.join(apps) or 'none'}"
            )
            healthy = healthy and alive >= config.workers
    for name, port in (("thrift", config.thrift_port), ("connect", config.connect_port)):
        is_open = port_open(config.host, port)
        healthy = healthy and is_open
        lines.append(f"  {name:<8} {config.host}:{port} {'answers' if is_open else 'closed'}")
    if healthy and config.ui_port:
        lines.append(f"  server UI http://{config.host}:{config.ui_port}")
    return healthy, lines


def export_lines(config: ClusterConfig) -> list[str]:
    return [f"export {key}={value}" for key, value in env_vars(config).items()]


# --------------------------------------------------------------------------- CLI


def _parse_conf(items: Sequence[str]) -> dict[str, str]:
    conf: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--conf expects KEY=VALUE, got {item!r}")
        conf[key] = value
    return conf


def build_parser() -> argparse.ArgumentParser:
    defaults = ClusterConfig()
    parser = argparse.ArgumentParser(
        prog="python -m python_jobs.tools.local_cluster",
        description="Spark standalone cluster + Thrift/Spark Connect server on this machine.",
    )
    parser.add_argument(
        "--state-dir",
        help=f"state directory (default ${STATE_DIR_ENV} or {DEFAULT_STATE_DIR})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start_p = sub.add_parser("start", help="start master, workers and the server; wait for it")
    start_p.add_argument("--workers", type=int, default=defaults.workers)
    start_p.add_argument("--worker-cores", type=int, default=defaults.worker_cores)
    start_p.add_argument("--worker-memory", default=defaults.worker_memory)
    start_p.add_argument("--driver-memory", default=defaults.driver_memory)
    start_p.add_argument("--shuffle-partitions", type=int, default=defaults.shuffle_partitions)
    start_p.add_argument("--host", default=defaults.host)
    start_p.add_argument("--master-port", type=int, default=defaults.master_port)
    start_p.add_argument("--master-webui-port", type=int, default=defaults.master_webui_port)
    start_p.add_argument(
        "--thrift-port",
        type=int,
        default=int(os.environ.get("SPARK_THRIFT_PORT", defaults.thrift_port)),
        help="default $SPARK_THRIFT_PORT or 10000",
    )
    start_p.add_argument("--connect-port", type=int, default=defaults.connect_port)
    start_p.add_argument(
        "--ui-port", type=int, default=defaults.ui_port, help="server web UI; 0 turns it off"
    )
    start_p.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Spark setting for the server (repeatable)",
    )
    start_p.add_argument(
        "--java-options",
        default=defaults.java_options,
        help="JVM options of every process (default the local target's class archive and JIT: "
        f"{defaults.java_options!r}; '' for the JVMs' defaults)",
    )
    start_p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_START_TIMEOUT_S,
        help="seconds to wait for the server's ports",
    )
    sub.add_parser("stop", help="stop everything `start` launched (by pid)")
    sub.add_parser("status", help="print what runs; exit 0 only when the cluster serves")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    state_dir = resolve_state_dir(args.state_dir)
    try:
        if args.command == "start":
            config = ClusterConfig(
                state_dir=state_dir,
                host=args.host,
                master_port=args.master_port,
                master_webui_port=args.master_webui_port,
                thrift_port=args.thrift_port,
                connect_port=args.connect_port,
                ui_port=args.ui_port,
                workers=args.workers,
                worker_cores=args.worker_cores,
                worker_memory=args.worker_memory,
                driver_memory=args.driver_memory,
                shuffle_partitions=args.shuffle_partitions,
                extra_conf=_parse_conf(args.conf),
                java_options=args.java_options,
            )
            start(config, timeout=args.timeout)
            _print("Build on it with:")
            for line in export_lines(config):
                _print(f"  {line}")
            _print("  dbt build --vars '{movielens_path: /path/to/ml-latest-small}'")
            return 0
        if args.command == "stop":
            stop(state_dir)
            return 0
        healthy, lines = status_lines(state_dir)
        for line in lines:
            _print(line)
        if healthy:
            cluster = Cluster.load(state_dir)
            assert cluster is not None
            for line in export_lines(cluster.config):
                _print(f"  {line}")
        return 0 if healthy else 1
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "Cluster",
    "ClusterConfig",
    "ClusterError",
    "ProcessRecord",
    "alive_workers",
    "app_api",
    "env_vars",
    "kill_worker",
    "launch",
    "log_tail",
    "master_state",
    "port_open",
    "server_conf",
    "start",
    "start_worker",
    "status_lines",
    "stop",
    "stop_cluster",
    "stop_server",
    "wait_for_workers",
    "wait_until_ready",
]
