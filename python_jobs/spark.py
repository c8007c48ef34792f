"""The one place that builds a SparkSession for the Python jobs and their tests.

dbt's ``local`` target builds its own session from ``profiles/profiles.yml``
(dbt-spark ``method: session``); the settings below mirror that profile.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG4J_CONFIG = PROJECT_ROOT / "profiles" / "log4j2.properties"
# The driver's class-data-sharing archive, written by ``python -m python_jobs.tools.jvm_archive``
# (``make setup``). The profile's default is the same path relative to the project root.
JVM_ARCHIVE_PATH = Path(
    os.environ.get("MOVIELENS_JVM_ARCHIVE", PROJECT_ROOT / ".spark" / "jvm" / "spark-classes.jsa")
)
QUIET_CDS_LOGGING = "-Xlog:cds=off -Xlog:cds+dynamic=off"
# The `local` profile's default for SPARK_DRIVER_JAVA_OPTIONS (see profiles/profiles.yml):
# the JIT's quick tier only, which suits short jobs on small data, and a thread stack deep
# enough for ALS's task lineage under it.
DEFAULT_DRIVER_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -Xss16m"


def jvm_archive_java_options(archive: Path = JVM_ARCHIVE_PATH) -> str:
    """JVM options that use ``archive`` when it is there (and say nothing when it is not)."""
    return f"-XX:SharedArchiveFile={archive} {QUIET_CDS_LOGGING}"


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
    """Build (or get) a SparkSession sized for a small machine.

    Parameters
    ----------
    app_name
        Spark application name.
    master
        Spark master URL; default ``local[N]`` with ``SPARK_LOCAL_CORES`` cores
        (all cores when unset). Ignored when the session already exists (e.g. under
        ``spark-submit``, which sets the master itself).
    shuffle_partitions
        ``spark.sql.shuffle.partitions``; default ``SPARK_SHUFFLE_PARTITIONS`` or 8.
    driver_memory
        ``spark.driver.memory``; default ``SPARK_DRIVER_MEMORY`` or ``4g``.
    warehouse_dir
        ``spark.sql.warehouse.dir``; when given with ``enable_hive`` the embedded
        Derby metastore lives beside it.
    enable_hive
        Use the Hive catalog (persistent tables) instead of the in-memory one.
    use_jvm_archive
        Start the driver JVM from the class-data-sharing archive (:data:`JVM_ARCHIVE_PATH`,
        written by :mod:`python_jobs.tools.jvm_archive`) when it exists (a faster start,
        same results).
    java_options
        Further driver JVM options, after those of ``SPARK_DRIVER_JAVA_OPTIONS``.
    extra_conf
        Any further Spark settings.
    """
    # Native BLAS (OpenBLAS) must not start its own threads inside Spark's task threads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    cores = os.environ.get("SPARK_LOCAL_CORES", "*")
    master = master or f"local[{cores}]"
    if master.startswith("local"):
        # A local-mode driver serves nobody else: bind it to loopback (quiet where the host
        # name resolves to a loopback address; see dbt_spark_oss_python.plugin).
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.appName(app_name)
        .master(master)
        .config(
            "spark.sql.shuffle.partitions",
            str(shuffle_partitions or os.environ.get("SPARK_SHUFFLE_PARTITIONS", "8")),
        )
        .config("spark.driver.memory", driver_memory or os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    driver_java_options = [f"-Dlog4j2.configurationFile={LOG4J_CONFIG}"]
    if use_jvm_archive:
        driver_java_options.append(jvm_archive_java_options())
    # The same variable as in the `local` profile, so both drivers can be tuned alike.
    driver_java_options += [
        os.environ.get("SPARK_DRIVER_JAVA_OPTIONS", DEFAULT_DRIVER_JAVA_OPTIONS),
        java_options,
    ]
    builder = builder.config(
        "spark.driver.extraJavaOptions", " ".join(filter(None, driver_java_options))
    )
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
