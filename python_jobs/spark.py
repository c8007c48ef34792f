"""The one place that builds a SparkSession for the Python jobs and their tests.

Its settings are those of the ``local`` target in ``profiles/profiles.yml`` (dbt-spark's
``method: session``), read and rendered here as dbt renders them: a dbt build and a Python
job get the same master, driver memory, shuffle partitions, time zone and driver JVM options
(log4j configuration, class-data archive, JIT tier) from that one file, and the same
environment variables tune both. The storage settings (warehouse, metastore, checkpoints,
Spark's log file) stay the caller's: a job or a test must not open the project's embedded
Derby metastore, which admits one process at a time.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

import jinja2
import yaml
from pyspark.sql import SparkSession

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROFILE_PATH = PROJECT_ROOT / "profiles" / "profiles.yml"
PROFILE_TARGET = ("movielens", "local")
# The local target's settings that say where data lives, not how the session runs.
STORAGE_SETTINGS = frozenset(
    {
        "spark.sql.warehouse.dir",
        "spark.hadoop.javax.jdo.option.ConnectionURL",
        "spark.checkpoint.dir",
    }
)
STORAGE_JAVA_OPTIONS = ("-Dderby.stream.error.file=", "-Dmovielens.spark.log=")
JVM_ARCHIVE_OPTION = "-XX:SharedArchiveFile="
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"


def _env_var(name: str, default: str | None = None) -> str:
    """dbt's ``env_var``: the variable when set (even empty), else the default."""
    if name in os.environ:
        return os.environ[name]
    if default is None:
        raise KeyError(f"{PROFILE_PATH}: env_var('{name}') is not set and has no default")
    return default


def _absolute(option: str) -> str:
    """A JVM option's relative path value, relative to the project root (where dbt runs)."""
    key, sep, value = option.partition("=")
    is_path = key.startswith(("-D", "-XX:")) and "/" in value and ":" not in value
    if sep and is_path and not Path(value).is_absolute():
        return f"{key}={PROJECT_ROOT / value}"
    return option


def local_profile_conf() -> dict[str, str]:
    """The Spark settings of the ``local`` dbt target, rendered as dbt renders them.

    ``server_side_parameters`` of ``profiles/profiles.yml``, each value rendered with
    ``env_var`` as dbt does, relative paths in the driver's JVM options made absolute from
    the project root.
    """
    profile = yaml.safe_load(PROFILE_PATH.read_text())
    target = profile[PROFILE_TARGET[0]]["outputs"][PROFILE_TARGET[1]]
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.globals["env_var"] = _env_var
    conf = {
        key: environment.from_string(str(value)).render()
        for key, value in target["server_side_parameters"].items()
    }
    conf[DRIVER_JAVA_OPTIONS] = shlex.join(
        _absolute(option) for option in shlex.split(conf.get(DRIVER_JAVA_OPTIONS, ""))
    )
    return conf


def local_session_conf() -> dict[str, str]:
    """:func:`local_profile_conf` without its storage settings: how a session runs."""
    conf = {k: v for k, v in local_profile_conf().items() if k not in STORAGE_SETTINGS}
    conf[DRIVER_JAVA_OPTIONS] = shlex.join(
        option
        for option in shlex.split(conf[DRIVER_JAVA_OPTIONS])
        if not option.startswith(STORAGE_JAVA_OPTIONS)
    )
    return conf


def jvm_archive_path() -> Path:
    """Where the local target's driver looks for its class-data-sharing archive.

    ``python -m python_jobs.tools.jvm_archive`` (``make setup``) writes it there.
    """
    for option in shlex.split(local_profile_conf()[DRIVER_JAVA_OPTIONS]):
        if option.startswith(JVM_ARCHIVE_OPTION):
            return Path(option.removeprefix(JVM_ARCHIVE_OPTION))
    raise ValueError(f"{PROFILE_PATH}: the local target names no {JVM_ARCHIVE_OPTION}")


def build_spark_session(
    *,
    app_name: str = "movielens",
    master: str | None = None,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    warehouse_dir: str | os.PathLike[str] | None = None,
    enable_hive: bool = False,
    use_jvm_archive: bool = True,
    java_options: str = "",
    extra_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Build (or get) a SparkSession with the ``local`` dbt target's settings.

    Parameters
    ----------
    app_name
        Spark application name.
    master
        Spark master URL; default the profile's (``local[N]``, ``SPARK_LOCAL_CORES`` cores,
        all when unset). Ignored when the session already exists (e.g. under
        ``spark-submit``, which sets the master itself).
    shuffle_partitions
        ``spark.sql.shuffle.partitions``; default the profile's (``SPARK_SHUFFLE_PARTITIONS``).
    driver_memory
        ``spark.driver.memory``; default the profile's (``SPARK_DRIVER_MEMORY``).
    warehouse_dir
        ``spark.sql.warehouse.dir``; when given with ``enable_hive`` the embedded
        Derby metastore lives beside it.
    enable_hive
        Use the Hive catalog (persistent tables) instead of the in-memory one.
    use_jvm_archive
        Start the driver JVM from the class-data-sharing archive (:func:`jvm_archive_path`)
        when it exists (a faster start, same results).
    java_options
        Further driver JVM options, after the profile's.
    extra_conf
        Any further Spark settings; they win over the profile's.
    """
    # Native BLAS (OpenBLAS) must not start its own threads inside Spark's task threads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = local_session_conf()
    conf["spark.app.name"] = app_name
    if master is not None:
        conf["spark.master"] = master
    if shuffle_partitions is not None:
        conf["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    if driver_memory is not None:
        conf["spark.driver.memory"] = driver_memory
    options = shlex.split(conf[DRIVER_JAVA_OPTIONS])
    if not use_jvm_archive:
        options = [option for option in options if not option.startswith(JVM_ARCHIVE_OPTION)]
    conf[DRIVER_JAVA_OPTIONS] = shlex.join([*options, *shlex.split(java_options)])
    if conf["spark.master"].startswith("local"):
        # A local-mode driver serves nobody else: bind it to loopback (quiet where the host
        # name resolves to a loopback address; see dbt_spark_oss_python.plugin).
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    if warehouse_dir is not None:
        warehouse = Path(warehouse_dir).resolve()
        builder = builder.config("spark.sql.warehouse.dir", str(warehouse))
        if enable_hive:
            builder = builder.config(
                "spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={warehouse.parent / 'metastore_db'};create=true",
            )
    for key, value in (extra_conf or {}).items():
        builder = builder.config(key, value)
    if enable_hive:
        builder = builder.enableHiveSupport()
    return builder.getOrCreate()
